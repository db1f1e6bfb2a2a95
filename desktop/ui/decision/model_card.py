"""The model card, one click away from every number on the shared-decision page.

The card is written by `predictors/card.py` when a model is trained, in English: its
explanations and tables are technical documentation of the model. The headings a reader
finds their way by are shown in the window's language.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton, QTextBrowser, QVBoxLayout

from desktop.ui.i18n import t

HEADINGS = {
    "Intended use": "window.decision.card.heading.intended_use",
    "Outcomes and method": "window.decision.card.heading.method",
    "Held-out performance": "window.decision.card.heading.performance",
    "Scores (mean and 80% range)": "window.decision.card.heading.scores",
    "Probabilities": "window.decision.card.heading.probabilities",
    "Case-mix checks (held-out subsets)": "window.decision.card.heading.case_mix",
    "Candidates compared (same split)": "window.decision.card.heading.candidates",
    "Overlap": "window.decision.card.heading.overlap",
    "Limitations": "window.decision.card.heading.limitations",
    "Files and libraries": "window.decision.card.heading.files",
}
HEADING = re.compile(r"^(#+) (.+)$", flags=re.MULTILINE)
TITLE_PREFIX = "Model card — "


def headings_translated(markdown: str) -> str:
    """The card with its headings in the window's language; a heading not known here stays as written."""

    def heading(match: re.Match[str]) -> str:
        marks, text = match.groups()
        if text.startswith(TITLE_PREFIX):
            return f"{marks} " + t("window.decision.card.heading.title", title=text.removeprefix(TITLE_PREFIX))
        return f"{marks} " + (t(HEADINGS[text]) if text in HEADINGS else text)

    return HEADING.sub(heading, markdown)


class ModelCardDialog(QDialog):
    def __init__(self, markdown: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(t("window.decision.card.title"))
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(t("window.decision.card.title"))
        self.browser.setMarkdown(headings_translated(markdown) or t("window.decision.card.none"))
        layout.addWidget(self.browser)
        close = QPushButton(t("window.close"))
        close.clicked.connect(self.accept)
        layout.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
