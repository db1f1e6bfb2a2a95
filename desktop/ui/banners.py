"""A line across the window that says what is true now and offers what to do about it.

Used for the saved (locked) consultation, an EHR launch waiting for an answer, and the
server's refusals. In the window rather than in a dialog, so typing is never interrupted
and a screen reader reads it with the rest of the window.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton

from desktop.ui import theme
from desktop.ui.readable import ReadableLabel


class Banner(QFrame):
    def __init__(self, name: str, colour: str, background: str) -> None:
        super().__init__()
        self.setObjectName("banner")
        self.setStyleSheet(f"#banner {{ background: {background}; border-radius: 4px; }}")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(8, 4, 8, 4)
        self.label = ReadableLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setStyleSheet(theme.css(colour, points=theme.BODY_PT))
        self.label.setAccessibleName(name)
        self.row.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.hide()

    def add_button(self, text: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        self.row.addWidget(button)
        self.buttons.append(button)
        return button

    def say(self, text: str | None) -> None:
        """Show `text`, or hide the banner when there is nothing to say."""
        self.label.setText(text or "")  # a ReadableLabel: its words go to the accessible description too
        self.setVisible(bool(text))
