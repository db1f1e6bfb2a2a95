"""A label a screen reader reads out, not only names.

A label that has a name ("Beoordeling", "Resultaat van de registratie") is announced by that
name alone; its words — the outcome, the result — go to the accessible description, kept equal
to what is on screen each time the text changes.
"""

from __future__ import annotations

from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QLabel


def plain(text: str) -> str:
    """What a rich-text label says, without its markup."""
    return " ".join(QTextDocumentFragment.fromHtml(text).toPlainText().split())


class ReadableLabel(QLabel):
    def setText(self, text: str) -> None:
        from PySide6.QtCore import Qt  # its ~100 enums cost 40 ms: the status bar's labels come before the window

        super().setText(text)
        words = " ".join(text.split()) if self.textFormat() == Qt.TextFormat.PlainText else plain(text)
        self.setAccessibleDescription(words if words != self.accessibleName() else "")
