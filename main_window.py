"""Launch the segstudio window: ``python main_window.py [FOLDER]`` (see app/launch.py)."""

import sys

from app.launch import main

if __name__ == "__main__":
    sys.exit(main())
