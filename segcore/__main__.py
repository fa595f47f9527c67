"""``python -m segcore`` (and ``torchrun -m segcore``) runs the command line."""

from segcore.cli import console_main

console_main()
