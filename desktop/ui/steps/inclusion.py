"""Step 5, the inclusion: who explained it, the patient's agreement, and saving it in the
register (never half-saved: a refusal or a storage fault is shown, and nothing is kept).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QPushButton, QVBoxLayout

from desktop.core.eligibility import ELIGIBLE
from desktop.operations import failures
from desktop.ui import theme
from desktop.ui.i18n import language, tr
from desktop.ui.state_words import OPTION_TEXT
from desktop.ui.steps.base import Step, status_label


class InclusionStep(Step):
    title = "Inclusie"
    saved = Signal(dict)

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Samenvatting van de beoordeling")
        layout.addWidget(self.summary)
        form = QFormLayout()
        layout.addLayout(form)
        if not consultation.location and services.settings.location:
            consultation.location = services.settings.location
        if not consultation.explained_by:
            consultation.explained_by = services.actor.user
        self.agb = self.line_edit("clinician_agb", "01234567")
        self.agb.setMaxLength(8)
        self.add_field(form, "Behandelaar (AGB)", self.agb, "clinician_agb")
        self.location = self.line_edit("location")
        self.add_field(form, "Locatie", self.location, "location")
        self.explained_by = self.line_edit("explained_by")
        self.add_field(form, "Uitgelegd door", self.explained_by, "explained_by")
        self.treatment = QComboBox()
        self.treatment.addItem(tr("nog niet gekozen"), "")
        for value, text in OPTION_TEXT.items():
            self.treatment.addItem(tr(text), value)
        self.treatment.setCurrentIndex(max(self.treatment.findData(consultation.initial_treatment), 0))
        self.treatment.currentIndexChanged.connect(
            lambda _: self._set("initial_treatment", self.treatment.currentData()))
        self.add_field(form, "Eerste behandeling", self.treatment, "initial_treatment")
        self.handout = QCheckBox(tr("Handout meegegeven"))
        self.handout.setChecked(consultation.handout_printed)
        self.handout.toggled.connect(lambda on: self._set("handout_printed", on))
        self.add_field(form, "Handout meegegeven", self.handout, "handout_printed")
        self.agreed = QCheckBox(tr("Patiënt stemt in met deelname"))
        self.agreed.setChecked(consultation.agreed)
        self.agreed.toggled.connect(lambda on: self._set("agreed", on))
        self.add_field(form, "Patiënt stemt in met deelname", self.agreed, "agreed")
        self.save_button = QPushButton(tr("Inclusie registreren") + "  (Ctrl+S)")
        self.save_button.setAccessibleName(tr("Inclusie registreren"))
        self.save_button.clicked.connect(self.save)
        layout.addWidget(self.save_button)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAccessibleName("Resultaat van de registratie")
        layout.addWidget(self.result)
        layout.addStretch()

    def refresh(self, decision, problems):
        self.handout.blockSignals(True)
        self.handout.setChecked(self.consultation.handout_printed)
        self.handout.blockSignals(False)
        text, colour = status_label(decision, self.consultation)
        registered = self.consultation.registered
        reasons = "".join(f"<li>{r}</li>" for r in decision.reasons(language())) if decision and not registered else ""
        self.summary.setText(theme.span(f"<b>{text}</b>", colour, theme.TITLE_PT) + f"<ul>{reasons}</ul>")
        self.save_button.setEnabled(decision is not None and decision.status == ELIGIBLE and not registered)

    def save(self) -> None:
        """Validate every field, then save durably; on any problem nothing is saved."""
        from desktop.core.inputs import InputError
        from desktop.operations.failures import NotEligible

        try:
            request = self.consultation.inclusion_request(self.services)
            record = self.services.register(request)
        except InputError as error:
            problems = {p.field: p.message for p in error.problems}
            self.show_problems(problems)
            elsewhere = [p.text(language()) for p in error.problems if p.field not in self.messages]
            self.result.setText(f"<span style='color:{theme.WRONG}'>Niet opgeslagen. Controleer de velden"
                                + (": " + "; ".join(elsewhere) if elsewhere else ".") + "</span>")
            return
        except NotEligible as refused:
            self.result.setText(f"<span style='color:{theme.WRONG}'>Niet opgeslagen: "
                                + "; ".join(refused.decision.reasons(language())) + "</span>")
            return
        except failures.FAULTS as error:  # disk full, read-only, locked …
            fault = failures.describe(error, self.services.registry.path)
            self.result.setText(f"<span style='color:{theme.WRONG}'>{tr('Niet opgeslagen')}: "
                                f"{html.escape(fault.text(language()))}</span>")
            return
        self.show_problems({})
        self.consultation.registered = record
        self.result.setText(theme.span(f"<b>{tr('Geregistreerd')}</b>", theme.GOOD, theme.TITLE_PT)
                            + f" — {record['inclusion_date']} t/m {record['end_date']}<br>id {record['id']}")
        self.saved.emit(record)
