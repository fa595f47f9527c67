"""The main window and what composes it: menus and toolbar, tool actions, the job docks, the unsaved-masks question."""

from app.window.main_window import MainWindow

__all__ = ["MainWindow"]
