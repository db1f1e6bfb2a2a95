"""The model card, one click away from every number on the shared-decision page."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton, QTextBrowser, QVBoxLayout

from desktop.ui.i18n import tr


class ModelCardDialog(QDialog):
    def __init__(self, markdown: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("Modelkaart"))
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(tr("Modelkaart"))
        self.browser.setMarkdown(markdown or tr("Geen modelkaart beschikbaar."))
        layout.addWidget(self.browser)
        close = QPushButton(tr("Sluiten"))
        close.clicked.connect(self.accept)
        layout.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
