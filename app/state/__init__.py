"""The window's state: the session (Qt wrapper of the annotation store), predictions, read-ahead, paths, settings."""
