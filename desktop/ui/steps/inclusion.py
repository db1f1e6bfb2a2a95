"""Step 5, the inclusion: who explained it, the patient's agreement, and saving it in the
register (never half-saved: a refusal or a storage fault is shown, and nothing is kept).
"""

from __future__ import annotations

import datetime as dt
import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QPushButton, QVBoxLayout

from desktop.core.eligibility import ELIGIBLE
from desktop.operations import failures
from desktop.ui import theme
from desktop.ui.i18n import language, say, t
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import OPTION_TEXT
from desktop.ui.steps.base import Step, field_problem, status_label


class InclusionStep(Step):
    title = "window.steps.inclusion"
    saved = Signal(dict)

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        layout = QVBoxLayout(self)
        self.summary = ReadableLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(t("window.inclusion.summary"))
        layout.addWidget(self.summary)
        form = QFormLayout()
        layout.addLayout(form)
        if not consultation.location and services.settings.location:
            consultation.location = services.settings.location
        staff = services.settings.staff
        if not consultation.explained_by:  # the clinic's list first; without one, the workstation's login
            remembered = services.remembered_explainer() if staff else None
            consultation.explained_by = remembered.name if remembered else "" if staff else services.actor.user
        self.agb = self.line_edit("clinician_agb", t("window.placeholder.agb"))
        self.agb.setMaxLength(8)
        self.add_field(form, t("window.inclusion.agb"), self.agb, "clinician_agb")
        self.location = self.line_edit("location")
        self.add_field(form, t("window.inclusion.location"), self.location, "location")
        self.explained_by = self._staff_choice(staff) if staff else self.line_edit("explained_by")
        self.add_field(form, t("window.inclusion.explained_by"), self.explained_by, "explained_by")
        self.treatment = QComboBox()
        self.treatment.addItem(t("window.inclusion.not_chosen"), "")
        for value, key in OPTION_TEXT.items():
            self.treatment.addItem(t(key), value)
        self.treatment.setCurrentIndex(max(self.treatment.findData(consultation.initial_treatment), 0))
        self.treatment.currentIndexChanged.connect(
            lambda _: self._set("initial_treatment", self.treatment.currentData()))
        self.add_field(form, t("window.inclusion.treatment"), self.treatment, "initial_treatment")
        self.handout = QCheckBox(t("window.inclusion.handout"))
        self.handout.setChecked(consultation.handout_printed)
        self.handout.toggled.connect(lambda on: self._set("handout_printed", on))
        self.add_field(form, t("window.inclusion.handout"), self.handout, "handout_printed")
        self.agreed = QCheckBox(t("window.inclusion.agreed"))
        self.agreed.setChecked(consultation.agreed)
        self.agreed.toggled.connect(lambda on: self._set("agreed", on))
        self.add_field(form, t("window.inclusion.agreed"), self.agreed, "agreed")
        self.save_button = QPushButton(t("window.inclusion.register_keys"))
        self.save_button.setAccessibleName(t("window.inclusion.register"))
        self.save_button.clicked.connect(self.save)
        layout.addWidget(self.save_button)
        self.result = ReadableLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setAccessibleName(t("window.inclusion.result"))
        layout.addWidget(self.result)
        layout.addStretch()

    def _staff_choice(self, staff) -> QComboBox:
        """'Uitgelegd door' from the clinic's staff list (system-wide config), not typed."""
        choice = QComboBox()
        choice.addItem(t("window.staff.choose"), None)
        for member in staff:
            choice.addItem(member.label(), member)
        chosen = next((i for i in range(1, choice.count())
                       if choice.itemData(i).name == self.consultation.explained_by), 0)
        choice.setCurrentIndex(chosen)
        choice.currentIndexChanged.connect(lambda _: self._set("explained_by", self.explainer.name
                                                               if self.explainer else ""))
        return choice

    @property
    def explainer(self):
        """The staff member chosen as 'Uitgelegd door', or None (no list, or nobody chosen yet)."""
        return self.explained_by.currentData() if isinstance(self.explained_by, QComboBox) else None

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
            elsewhere = [self._problem(field, message) for field, message in problems.items()
                         if field not in self.messages]
            self._refused(t("window.inclusion.not_saved_fields", fields="; ".join(elsewhere)) if elsewhere
                          else t("window.inclusion.not_saved_check"))
            return
        except NotEligible as refused:
            self._refused(t("window.inclusion.not_saved_because",
                            reasons="; ".join(refused.decision.reasons(language()))))
            return
        except failures.FAULTS as error:  # disk full, read-only, locked …
            fault = failures.describe(error, self.services.registry.path)
            self._refused(t("window.inclusion.not_saved_because", reasons=say(fault.text(language()))))
            return
        self.show_problems({})
        if self.explainer is not None:
            self.services.remember_explainer(self.explainer)
        self.consultation.registered = record
        self.result.setText(theme.span(f"<b>{t('window.inclusion.registered')}</b>", theme.GOOD, theme.TITLE_PT)
                            + " — " + html.escape(t("window.inclusion.registered_detail", id=record["id"],
                                                    start=dt.date.fromisoformat(record["inclusion_date"]),
                                                    end=dt.date.fromisoformat(record["end_date"]))))
        self.saved.emit(record)

    def _refused(self, text: str) -> None:
        self.result.setText(f"<span style='color:{theme.WRONG}'>{html.escape(text)}</span>")

    def _problem(self, field: str, message: object) -> str:
        """A problem of a field on another step, named by its label there (a bundle question by its words)."""
        if field.startswith("facts."):
            bundle = self.services.bundles.bundles.get(self.consultation.bundle)
            rule = next((r for r in bundle.fact_rules if f"facts.{r.fact}" == field), None) if bundle else None
            if rule is not None and rule.question is not None:
                return t("window.field_problem", label=rule.question.get(language()), message=say(message))
        return field_problem(field, message)
