"""Dock panels of the main window, one control per module."""
