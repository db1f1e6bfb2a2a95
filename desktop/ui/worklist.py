"""The worklist: today's inclusions and everything unsent, rejected or duplicate,
with withdraw and correct actions that always ask for a reason."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.identifiers import mask_bsn
from desktop.core.states import PROBLEM_STATES
from desktop.operations import failures
from desktop.operations.failures import InvalidChange
from desktop.operations.services import Services
from desktop.ui import theme
from desktop.ui.i18n import language, tr
from desktop.ui.state_words import RECORD_STATE_TEXT

FILTERS = (("Vandaag", "today"), ("Niet verzonden", "unsent"), ("Afgewezen of dubbel", "problems"), ("Alles", "all"))


class Worklist(QWidget):
    changed = Signal()

    def __init__(self, services: Services):
        super().__init__()
        self.services = services
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.setAccessibleName("Filter werklijst")
        for text, key in FILTERS:
            self.filter.addItem(tr(text), key)
        self.filter.currentIndexChanged.connect(lambda _: self.refresh())
        bar.addWidget(self.filter)
        bar.addStretch()
        self.withdraw_button = QPushButton(tr("Intrekken…"))
        self.withdraw_button.clicked.connect(self.withdraw_selected)
        self.correct_button = QPushButton(tr("Corrigeren…"))
        self.correct_button.clicked.connect(self.correct_selected)
        bar.addWidget(self.withdraw_button)
        bar.addWidget(self.correct_button)
        layout.addLayout(bar)
        self.table = QTableWidget(0, 7)
        self.table.setAccessibleName(tr("Werklijst"))
        self.table.setHorizontalHeaderLabels([tr("Datum"), tr("Patiënt"), tr("Bundel"), tr("Aandoening"),
                                              tr("Status"), tr("Verzending"), tr("Melding")])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        self.refresh()

    def refresh(self) -> None:
        records = self.services.registry.worklist(self.filter.currentData(), dt.date.today())
        pending = self.services.registry.pending_ids()
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            values = [record["inclusion_date"], mask_bsn(record["bsn"]), record["bundle"], record["condition"],
                      tr(RECORD_STATE_TEXT[record["state"]]),
                      tr("te verzenden") if record["id"] in pending else tr("verzonden"),
                      record["server_message"] or record["withdrawal_reason"] or ""]
            problem = record["state"] in PROBLEM_STATES
            for column, value in enumerate(values):
                item = QTableWidgetItem(value or "")
                item.setData(Qt.ItemDataRole.UserRole, record["id"])
                if problem:
                    item.setForeground(QColor(theme.WRONG))
                self.table.setItem(row, column, item)
        has_rows = bool(records)
        self.withdraw_button.setEnabled(has_rows)
        self.correct_button.setEnabled(has_rows)
        if has_rows and self.table.currentRow() < 0:
            self.table.selectRow(0)

    def selected_id(self) -> str | None:
        item = self.table.item(self.table.currentRow(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _fault(self, error: Exception) -> str:
        """Disk full, read-only, locked or damaged: each its own advice, in the window's language."""
        return failures.describe(error, self.services.registry.path).text(language())

    def withdraw(self, inclusion_id: str, reason: str) -> None:
        self.services.registry.withdraw(inclusion_id, reason)
        self.refresh()
        self.changed.emit()

    def withdraw_selected(self) -> None:
        inclusion_id = self.selected_id()
        if not inclusion_id:
            return
        reason, ok = QInputDialog.getText(self, tr("Intrekken…"), tr("Reden") + ":")
        if not ok:
            return
        try:
            self.withdraw(inclusion_id, reason)
        except InvalidChange as error:
            QMessageBox.warning(self, tr("Intrekken…"), str(error))
        except failures.FAULTS as error:
            QMessageBox.warning(self, tr("Intrekken…"), self._fault(error))

    def correct_selected(self) -> None:
        inclusion_id = self.selected_id()
        if not inclusion_id:
            return
        record = self.services.registry.get(inclusion_id)
        dialog = CorrectionDialog(record, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            self.services.registry.correct(inclusion_id, dialog.changes(), dialog.reason.text())
        except InvalidChange as error:
            QMessageBox.warning(self, tr("Corrigeren…"), str(error))
            return
        except failures.FAULTS as error:
            QMessageBox.warning(self, tr("Corrigeren…"), self._fault(error))
            return
        self.refresh()
        self.changed.emit()


class CorrectionDialog(QDialog):
    """Correct the administrative fields of an inclusion; a reason is required."""

    FIELDS = (("side", "Zijde (L, R of both)"), ("clinician_agb", "Behandelaar (AGB)"), ("location", "Locatie"),
              ("explained_by", "Uitgelegd door"), ("name", "Naam"))

    def __init__(self, record: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("Corrigeren…"))
        self.record = record
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for key, label in self.FIELDS:
            edit = QLineEdit(record.get(key) or "")
            edit.setAccessibleName(label)
            self.edits[key] = edit
            form.addRow(label, edit)
        self.reason = QLineEdit()
        self.reason.setAccessibleName(tr("Reden"))
        form.addRow(tr("Reden"), self.reason)
        self.message = QLabel()
        self.message.setStyleSheet(theme.css(theme.WRONG))
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept_if_valid)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def changes(self) -> dict:
        return {key: edit.text().strip() or None for key, edit in self.edits.items()
                if (edit.text().strip() or None) != self.record.get(key)}

    def accept_if_valid(self) -> None:
        from desktop.core.identifiers import InvalidField, validate_agb
        from desktop.core.inputs import parse_side

        try:
            changes = self.changes()
            if "side" in changes:
                changes["side"] = parse_side(changes["side"])
            if changes.get("clinician_agb"):
                validate_agb(changes["clinician_agb"])
        except InvalidField as error:
            self.message.setText(str(error))
            return
        if not changes:
            self.message.setText("Er is niets gewijzigd.")
            return
        if not self.reason.text().strip():
            self.message.setText("Geef een reden voor de correctie.")
            return
        self.accept()
