"""What every consultation step shares: a form with a message under each field, and the
eligibility status line (also shown in the window's header).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop.core.eligibility import ELIGIBLE, FAIL, NEEDS_INFORMATION, NOT_ELIGIBLE, PASS, Decision
from desktop.core.messages import Translatable, read
from desktop.operations.consultation import Consultation
from desktop.operations.services import Services
from desktop.ui import i18n, theme
from desktop.ui.i18n import tr

STATUS_TEXT = {ELIGIBLE: "Komt in aanmerking", NOT_ELIGIBLE: "Komt niet in aanmerking",
               NEEDS_INFORMATION: "Informatie nodig"}
STATUS_COLOUR = {ELIGIBLE: theme.GOOD, NOT_ELIGIBLE: theme.WRONG, NEEDS_INFORMATION: theme.ATTENTION}
RULE_MARK = {PASS: "✔", FAIL: "✖"}


def status_label(decision: Decision | None, consultation: Consultation | None = None) -> tuple[str, str]:
    """The bundle status in words and colour; once saved, the inclusion itself."""
    if consultation is not None and consultation.registered:
        end = dt.date.fromisoformat(consultation.registered["end_date"]).strftime("%d-%m-%Y")
        return f"{tr('Geïncludeerd')} {tr('t/m')} {end}", theme.GOOD
    if decision is None:
        return tr("Nog niet beoordeeld"), theme.MUTED
    return tr(STATUS_TEXT[decision.status]), STATUS_COLOUR[decision.status]


class FieldMessage(QLabel):
    """The red line under a field that says what is wrong with it."""

    def __init__(self) -> None:
        super().__init__()
        self.setStyleSheet(theme.css(theme.WRONG))
        self.setWordWrap(True)
        self.hide()

    def show_message(self, text: Translatable | str | None) -> None:
        shown = read(text, i18n.language()) if text else ""
        self.setText(shown)
        self.setVisible(bool(shown))


class Step(QWidget):
    changed = Signal()

    def __init__(self, services: Services, consultation: Consultation):
        super().__init__()
        self.services = services
        self.consultation = consultation
        self.messages: dict[str, FieldMessage] = {}

    def add_field(self, form: QFormLayout, label: str, widget: QWidget, key: str) -> None:
        box = QVBoxLayout()
        box.setSpacing(2)
        box.addWidget(widget)
        message = FieldMessage()
        box.addWidget(message)
        self.messages[key] = message
        widget.setAccessibleName(tr(label))
        if isinstance(widget, QCheckBox):  # a check box carries its own label
            form.addRow("", box)
            return
        caption = QLabel(tr(label))
        caption.setBuddy(widget)
        form.addRow(caption, box)

    def line_edit(self, key: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(str(getattr(self.consultation, key) or ""))
        edit.setPlaceholderText(placeholder)
        edit.textChanged.connect(lambda text: self._set(key, text.strip()))
        return edit

    def _set(self, key: str, value) -> None:
        setattr(self.consultation, key, value)
        self.changed.emit()

    def show_problems(self, problems: Mapping[str, Translatable]) -> None:
        for key, message in self.messages.items():
            message.show_message(problems.get(key))

    def refresh(self, decision: Decision | None, problems: Mapping[str, Translatable]) -> None:
        self.show_problems(problems)
