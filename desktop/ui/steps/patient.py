"""Step 1, the patient: BSN, name, birth date, and earlier inclusions in this register."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout

from desktop.core.states import RecordState
from desktop.ui.i18n import language, t
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import RECORD_STATE_TEXT
from desktop.ui.steps.base import Step


class PatientStep(Step):
    title = "window.steps.patient"

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        form = QFormLayout(self)
        self.bsn = self.line_edit("bsn", t("window.placeholder.bsn"))
        self.bsn.setMaxLength(11)
        self.add_field(form, t("window.patient.bsn"), self.bsn, "bsn")
        self.birth_date = self.line_edit("birth_date", t("window.placeholder.date"))
        self.add_field(form, t("window.patient.birth_date"), self.birth_date, "birth_date")
        self.name = self.line_edit("name")
        self.add_field(form, t("window.patient.name"), self.name, "name")
        self.patient_id = self.line_edit("patient_id")
        self.add_field(form, t("window.patient.patient_id"), self.patient_id, "patient_id")
        self.history = ReadableLabel()
        self.history.setWordWrap(True)
        self.history.setAccessibleName(t("window.patient.history"))
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
            return t("window.patient.no_history")
        lines = [t("window.patient.history_line", bundle=bundle, condition=condition, start=e.start, end=e.end,
                   state=t(RECORD_STATE_TEXT[RecordState(e.state)]))
                 for e in episodes for bundle, condition in [self._names(e.bundle, e.condition)]]
        return "<br>".join(lines)

    def _names(self, bundle_id: str, condition_id: str | None) -> tuple[str, str]:
        """A bundle and condition by their names in the window's language (the id when unknown here)."""
        bundle = self.services.bundles.bundles.get(bundle_id)
        condition = next((c for c in bundle.conditions if c.id == condition_id), None) if bundle else None
        return (bundle.name.get(language()) if bundle else bundle_id,
                condition.label.get(language()) if condition else condition_id or "—")
