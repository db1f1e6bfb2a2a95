"""What every consultation step shares: a form with a message under each field, and the
eligibility status line (also shown in the window's header).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from operator import attrgetter

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.core.eligibility import ELIGIBLE, FAIL, NEEDS_INFORMATION, NOT_ELIGIBLE, PASS, Decision
from desktop.operations.consultation import Consultation
from desktop.operations.services import Services
from desktop.ui import theme
from desktop.ui.i18n import say, t
from desktop.ui.readable import ReadableLabel

STATUS_TEXT = {ELIGIBLE: "window.status.eligible", NOT_ELIGIBLE: "window.status.not_eligible",
               NEEDS_INFORMATION: "window.status.needs_information"}
STATUS_COLOUR = {ELIGIBLE: theme.GOOD, NOT_ELIGIBLE: theme.WRONG, NEEDS_INFORMATION: theme.ATTENTION}
RULE_MARK = {PASS: "✔", FAIL: "✖"}
# Every field a problem can be about, by the label the form shows it with (never its internal name).
FIELD_LABELS = {
    "bsn": "window.patient.bsn", "birth_date": "window.patient.birth_date", "name": "window.patient.name",
    "patient_id": "window.patient.patient_id", "bundle": "window.insurance.bundle",
    "insurer": "window.insurance.insurer", "insurer_uzovi": "window.insurance.uzovi",
    "diagnosis": "window.insurance.diagnosis", "side": "window.insurance.side",
    "inclusion_date": "window.insurance.inclusion_date", "clinician_agb": "window.inclusion.agb",
    "location": "window.inclusion.location", "explained_by": "window.inclusion.explained_by",
    "initial_treatment": "window.inclusion.treatment", "handout_printed": "window.inclusion.handout",
    "agreed": "window.inclusion.agreed",
}


def field_label(field: str) -> str:
    """A field's label in the window's language; a bundle's own question keeps its own words."""
    key = FIELD_LABELS.get(field)
    return t(key) if key else field.removeprefix("facts.")


def field_problem(field: str, message: object) -> str:
    """'Label: what is wrong' for a field shown away from its form."""
    return t("window.field_problem", label=field_label(field), message=say(message))


def status_label(decision: Decision | None, consultation: Consultation | None = None) -> tuple[str, str]:
    """The bundle status in words and colour; once saved, the inclusion itself."""
    if consultation is not None and consultation.registered:
        end = dt.date.fromisoformat(consultation.registered["end_date"])
        return t("window.status.included_until", end=end), theme.GOOD
    if decision is None:
        return t("window.status.not_assessed"), theme.MUTED
    return t(STATUS_TEXT[decision.status]), STATUS_COLOUR[decision.status]


class FieldMessage(ReadableLabel):
    """The red line under a field that says what is wrong with it."""

    def __init__(self) -> None:
        super().__init__()
        self.setStyleSheet(theme.css(theme.WRONG))
        self.setWordWrap(True)
        self.hide()

    def show_message(self, message: object) -> None:
        text = say(message)
        self.setText(text)
        self.setVisible(bool(text))


def _is_empty(field: QWidget) -> bool:
    if isinstance(field, QLineEdit):
        return not field.text() and not field.isReadOnly()
    if isinstance(field, QComboBox):
        return field.currentData() in (None, "") if not field.isEditable() else not field.currentText()
    return False  # a check box's tick is an answer, not a gap to fill first; other widgets have no gap


class Step(QWidget):
    title = ""  # the catalogue key of the step's name in the step list
    changed = Signal()

    def __init__(self, services: Services, consultation: Consultation):
        super().__init__()
        self.services = services
        self.consultation = consultation
        self.messages: dict[str, FieldMessage] = {}
        self.fields: list[QWidget] = []  # in the order of the form: where the focus lands on arrival

    def add_field(self, form: QFormLayout, label: str, widget: QWidget, key: str) -> None:
        """A labelled field and its message line; `label` is already in the window's language."""
        box = QVBoxLayout()
        box.setSpacing(2)
        box.addWidget(widget)
        message = FieldMessage()
        box.addWidget(message)
        self.messages[key] = message
        self.fields.append(widget)
        widget.setAccessibleName(label)
        if isinstance(widget, QCheckBox):  # a check box carries its own label
            form.addRow("", box)
            return
        caption = QLabel(label)
        caption.setBuddy(widget)
        form.addRow(caption, box)

    def focus_target(self) -> QWidget | None:
        """Where the focus goes on arriving at the step: the first field still to fill in, else the first."""
        usable = [field for field in self.fields if field.isEnabled() and field.focusPolicy() != Qt.FocusPolicy.NoFocus]
        empty = next((field for field in usable if _is_empty(field)), None)
        return empty or (usable[0] if usable else None)

    def line_edit(self, key: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(str(getattr(self.consultation, key) or ""))
        edit.setPlaceholderText(placeholder)
        edit.textChanged.connect(lambda text: self._set(key, text.strip()))
        return edit

    def _set(self, key: str, value) -> None:
        setattr(self.consultation, key, value)
        self.changed.emit()

    def show_problems(self, problems: Mapping[str, object]) -> None:
        for key, message in self.messages.items():
            message.show_message(problems.get(key))

    # Controls that still work on a saved consultation (printing the handout again, the model card).
    stays_open: tuple[str, ...] = ()

    def set_locked(self, locked: bool) -> None:
        """A saved consultation cannot change: fields become read-only, so nothing typed is dropped
        unseen and the header cannot describe another patient than the one saved."""
        keep = {id(attrgetter(name)(self)) for name in self.stays_open}
        for edit in self.findChildren(QLineEdit):
            if not isinstance(edit.parentWidget(), QComboBox):
                edit.setReadOnly(locked)
        for control in (*self.findChildren(QComboBox), *self.findChildren(QAbstractButton)):
            if id(control) in keep:
                continue
            if locked and control.isEnabled():
                control.setProperty("locked_off", True)  # so unlocking gives back only what locking took
                control.setEnabled(False)
            elif not locked and control.property("locked_off"):
                control.setProperty("locked_off", False)
                control.setEnabled(True)

    def refresh(self, decision: Decision | None, problems: Mapping[str, object]) -> None:
        self.show_problems(problems)
