"""Step 1, the patient: BSN, name, birth date, and earlier inclusions in this register."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel

from desktop.core.states import RecordState
from desktop.ui.i18n import language, tr
from desktop.ui.state_words import RECORD_STATE_TEXT
from desktop.ui.steps.base import Step


class PatientStep(Step):
    title = "Patiënt"

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        form = QFormLayout(self)
        self.bsn = self.line_edit("bsn", "123456782")
        self.bsn.setMaxLength(11)
        self.add_field(form, "BSN", self.bsn, "bsn")
        self.birth_date = self.line_edit("birth_date", tr("JJJJ-MM-DD"))
        self.add_field(form, "Geboortedatum", self.birth_date, "birth_date")
        self.name = self.line_edit("name")
        self.add_field(form, "Naam (optioneel)", self.name, "name")
        self.patient_id = self.line_edit("patient_id")
        self.add_field(form, "Patiëntnummer EPD (optioneel)", self.patient_id, "patient_id")
        self.history = QLabel()
        self.history.setWordWrap(True)
        self.history.setAccessibleName("Eerdere inclusies")
        form.addRow(self.history)

    def refresh(self, decision, problems):
        super().refresh(decision, problems)
        self.history.setText("" if "bsn" in problems else self.earlier_inclusions())

    def earlier_inclusions(self) -> str:
        bsn = self.consultation.bsn
        if not bsn:
            return ""
        episodes = self.services.registry.episodes_for(bsn)
        if not episodes:
            return "Geen eerdere inclusies in dit register." if language() == "nl" else "No earlier inclusions here."
        lines = [f"{e.bundle} · {e.condition} · {e.start:%d-%m-%Y} t/m {e.end:%d-%m-%Y} · "
                 f"{tr(RECORD_STATE_TEXT[RecordState(e.state)])}" for e in episodes]
        return "<br>".join(lines)
