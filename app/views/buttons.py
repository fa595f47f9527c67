"""A push button with its object name (for tests and automation), tooltip and optional icon: how panels make
their buttons."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

from app.views.icons import icon


def push_button(text: str, name: str, tip: str, icon_name: str | None = None) -> QPushButton:
    button = QPushButton(icon(icon_name), text) if icon_name else QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button
