"""Step 3, the explanation for the patient: the bundle handout in Dutch or English, on
screen, as a PDF or on paper (`desktop/ui/handout_pdf.py`).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout

from desktop.core.eligibility import ELIGIBLE
from desktop.core.handout import Consultation, explanation_html
from desktop.operations.handout import personal_page
from desktop.ui import handout_pdf, theme
from desktop.ui.i18n import t
from desktop.ui.readable import ReadableLabel
from desktop.ui.steps.base import Step


class ExplanationStep(Step):
    title = "window.steps.explanation"
    stays_open = ("pdf", "print_button")  # a saved patient may need the handout again

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.dutch = QPushButton(t("window.explanation.dutch"))
        self.english = QPushButton(t("window.explanation.english"))
        for button, code in ((self.dutch, "nl"), (self.english, "en")):
            button.setCheckable(True)
            button.setChecked(consultation.explanation_language == code)
            button.clicked.connect(lambda _, c=code: self.set_language(c))
            bar.addWidget(button)
        bar.addStretch()
        self.pdf = QPushButton(t("window.explanation.save_pdf"))
        self.pdf.clicked.connect(self.save_pdf_dialog)
        self.print_button = QPushButton(t("window.explanation.print"))
        self.print_button.clicked.connect(self.print_dialog)
        bar.addWidget(self.pdf)
        bar.addWidget(self.print_button)
        layout.addLayout(bar)
        self.view = QTextBrowser()
        self.view.setAccessibleName(t("window.explanation.view"))
        font = QFont(self.view.font())
        font.setPointSize(theme.PREVIEW_PT)
        self.view.setFont(font)
        layout.addWidget(self.view, 1)
        self.notice = ReadableLabel()
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        self.eligible = False

    def focus_target(self):
        """The handout itself: arrow keys and Page Down read it."""
        return self.view

    def set_language(self, code: str) -> None:
        self.consultation.explanation_language = code
        self.dutch.setChecked(code == "nl")
        self.english.setChecked(code == "en")
        self.changed.emit()

    def html(self, printed: bool = False) -> str:
        bundle = self.services.bundles.bundles.get(self.consultation.bundle)
        if bundle is None:
            return ""
        try:
            start = dt.date.fromisoformat(self.consultation.inclusion_date)
        except ValueError:
            start = dt.date.today()
        diagnosis = self.consultation.diagnosis
        condition = bundle.condition_for_code(diagnosis.upper()) if diagnosis else None
        facts = Consultation(day=self.services.today(), side=self.consultation.side,
                             explained_by=self.consultation.explained_by)
        language = self.consultation.explanation_language
        personal = personal_page(self.services, self.consultation,
                                 condition.id if condition else None, language)
        return explanation_html(bundle, condition, start, language,
                                printed_on=self.services.today() if printed else None, consultation=facts,
                                clinic=self.services.settings.clinic, personal_page=personal)

    def refresh(self, decision, problems):
        super().refresh(decision, problems)
        self.eligible = bool(self.consultation.registered) or (decision is not None and decision.status == ELIGIBLE)
        for button in (self.pdf, self.print_button):
            button.setEnabled(self.eligible)
            button.setToolTip("" if self.eligible else t("window.handout.only_eligible"))
        self.show_preview()

    def show_preview(self) -> None:
        self.view.setHtml(self.html())
        handout_pdf.draw_icon_arrays(self.view.document())

    def showEvent(self, event) -> None:
        """The predictions may have come in since the last refresh: the preview shows them."""
        super().showEvent(event)
        self.show_preview()

    def save_pdf(self, path: str) -> None:
        """Write the handout with the patient's dates as a PDF (A4)."""
        if self._refused():
            return
        handout_pdf.save_pdf(self.html(printed=True), self.view.font(), path)
        self._printed()

    def _refused(self) -> bool:
        """A bundle handout only for a patient who can be in the bundle (also by Ctrl+P from another step)."""
        if not self.eligible:
            self.notice.setText(t("window.handout.only_eligible"))
        return not self.eligible

    def _printed(self) -> None:
        """Say it is ready; whether the patient took it home is the user's tick on the inclusion step."""
        self.notice.setText(t("window.handout.ready"))

    def save_pdf_dialog(self) -> None:
        if self._refused():
            return
        path = handout_pdf.ask_pdf_path(self)
        if path:
            self.save_pdf(path)

    def print_dialog(self) -> None:
        if self._refused():
            return
        printer = handout_pdf.ask_printer(self)
        if printer is not None:
            handout_pdf.print_handout(self.html(printed=True), self.view.font(), printer)
            self._printed()
