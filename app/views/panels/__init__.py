"""Dock panels of the main window, one control per module: signals out, typed setters in, no state kept."""
