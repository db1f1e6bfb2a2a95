"""The worklist: today's inclusions and everything unsent, rejected or duplicate,
searchable by BSN, name or birth date and sortable by any column, with withdraw and
correct actions that always ask for a reason.

The rows come from `desktop.operations.worklist`; this module only shows them. The table
model filters and sorts them in memory, so typing in the search field never reloads the register.
Tab leaves the table (no keyboard trap); the actions have shortcuts and a context menu.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.states import Side
from desktop.operations import failures
from desktop.operations import worklist as rows
from desktop.operations.failures import InvalidChange
from desktop.operations.services import Services
from desktop.ui import theme
from desktop.ui.i18n import language, say, t
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import RECORD_STATE_TEXT, SIDE_TEXT

FILTERS = (("window.worklist.filter.today", "today"), ("window.worklist.filter.unsent", "unsent"),
           ("window.worklist.filter.problems", "problems"), ("window.worklist.filter.all", "all"))
# Each column by its name in the code, and the key of its heading.
COLUMNS = {"inclusion_date": "window.worklist.column.inclusion_date", "name": "window.worklist.column.name",
           "birth_date": "window.worklist.column.birth_date", "bsn": "window.worklist.column.bsn",
           "side": "window.worklist.column.side", "bundle": "window.worklist.column.bundle",
           "condition": "window.worklist.column.condition", "explained_by": "window.worklist.column.explained_by",
           "state": "window.worklist.column.state", "sync": "window.worklist.column.sync",
           "message": "window.worklist.column.message"}
COLUMN_NAMES = tuple(COLUMNS)
MESSAGE_COLUMN = COLUMN_NAMES.index("message")
# Long texts that give way (shortened with "…", in full as a tooltip) so the table fits its width.
SHRINKING_COLUMNS = tuple(COLUMN_NAMES.index(name) for name in ("bundle", "condition", "explained_by", "message"))
SHRUNK_MINIMUM = 90
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole


def _cells(entry: rows.Entry, lang: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What each column shows, and what it sorts by (dates as ISO text, names without accents)."""
    side = t(SIDE_TEXT[Side(entry.side)]) if entry.side in {s.value for s in Side} else (entry.side or "")
    shown = (rows.day_text(entry.inclusion_date), entry.name, rows.day_text(entry.birth_date), entry.bsn_shown,
             side, entry.bundle.get(lang), entry.condition.get(lang), entry.explained_by,
             t(RECORD_STATE_TEXT[entry.state]),
             t("window.worklist.pending") if entry.pending else t("window.worklist.sent"),
             entry.message.get(lang) if entry.message else "")
    keys = (entry.inclusion_date, entry.name_key, entry.birth_date, *(rows.fold(text) for text in shown[3:]))
    return shown, keys


def _give_way(widths: list[int], columns, minimum: int, excess: int) -> int:
    """Narrow `columns` in proportion to their width above `minimum`, by up to `excess` in all."""
    spare = {column: max(widths[column] - minimum, 0) for column in columns}
    if excess <= 0 or not sum(spare.values()):
        return 0
    taken = {column: min(room, -(-excess * room // sum(spare.values()))) for column, room in spare.items()}
    for column, amount in taken.items():
        widths[column] -= amount
    return sum(taken.values())


class WorklistModel(QAbstractTableModel):
    """The loaded entries, sorted and filtered in plain Python over texts worked out once.

    This takes the place of a QSortFilterProxyModel: a proxy asks Python for every
    comparison while sorting, which took close to a second for 10,000 rows; a key sort
    and one pass of `operations.worklist.search` stay far below the 100 ms budget.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[rows.Entry] = []
        self._shown: list[tuple[str, ...]] = []
        self._keys: list[tuple[str, ...]] = []
        self._query = ""
        self._sort = (0, Qt.SortOrder.DescendingOrder)
        self._order: list[int] = []    # every entry, in the sort order
        self._visible: list[int] = []  # those the search matches, in the same order

    def set_entries(self, entries: list[rows.Entry]) -> None:
        lang = language()
        cells = [_cells(entry, lang) for entry in entries]
        self.beginResetModel()
        self.entries = entries
        self._shown = [shown for shown, _ in cells]
        self._keys = [keys for _, keys in cells]
        self._arrange()
        self.endResetModel()

    def set_query(self, query: str) -> None:
        self.beginResetModel()
        self._query = query
        self._arrange(resort=False)
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.beginResetModel()
        self._sort = (column, order)
        self._arrange()
        self.endResetModel()

    def _arrange(self, resort: bool = True) -> None:
        if resort:
            column, order = self._sort
            keys = self._keys
            self._order = sorted(range(len(keys)), key=lambda i: keys[i][column],
                                 reverse=order == Qt.SortOrder.DescendingOrder)
        if self._query.strip():
            matching = set(rows.search(self.entries, self._query))
            self._visible = [i for i in self._order if i in matching]
        else:
            self._visible = list(self._order)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._visible)

    def total(self) -> int:
        return len(self.entries)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return t(COLUMNS[COLUMN_NAMES[section]])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row, column = self._visible[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._shown[row][column]
        if role == SORT_ROLE:
            return self._keys[row][column]
        if role == ID_ROLE:
            return self.entries[row].id
        if role == Qt.ItemDataRole.ToolTipRole and column in SHRINKING_COLUMNS:
            return self._shown[row][column] or None
        if role == Qt.ItemDataRole.ForegroundRole and self.entries[row].problem:
            return QColor(theme.WRONG)
        return None


class Worklist(QWidget):
    changed = Signal()

    def __init__(self, services: Services):
        super().__init__()
        self.services = services
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText(t("window.worklist.search_placeholder"))
        self.search.setAccessibleName(t("window.worklist.search"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        bar.addWidget(self.search, 2)
        self.filter = QComboBox()
        self.filter.setAccessibleName(t("window.worklist.filter.name"))
        for text, value in FILTERS:
            self.filter.addItem(t(text), value)
        self.filter.currentIndexChanged.connect(lambda _: self.refresh())
        bar.addWidget(self.filter)
        self.count = ReadableLabel()
        bar.addWidget(self.count)
        bar.addStretch()
        self.withdraw_action = self._action("window.worklist.withdraw", rows.WITHDRAW_KEYS, self.withdraw_selected)
        self.correct_action = self._action("window.worklist.correct", rows.CORRECT_KEYS, self.correct_selected)
        self.withdraw_button = self._button(self.withdraw_action)
        self.correct_button = self._button(self.correct_action)
        bar.addWidget(self.withdraw_button)
        bar.addWidget(self.correct_button)
        layout.addLayout(bar)
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.search.setFocus)

        self.model = WorklistModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName(t("window.steps.worklist"))
        self.table.setTabKeyNavigation(False)  # Tab moves on to the next control, arrows move between rows
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setResizeContentsPrecision(0)  # widths from the rows in view: 10,000 rows took 0.4 s a resize
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addActions([self.withdraw_action, self.correct_action])
        self.table.doubleClicked.connect(lambda _: self.correct_selected())
        layout.addWidget(self.table)
        # the message of the selected row in full: the column is the last and often off-screen
        self.detail = ReadableLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setAccessibleName(t("window.worklist.detail"))
        layout.addWidget(self.detail)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())
        self.refresh()

    def _action(self, text: str, keys: str, slot) -> QAction:
        """An action of the selected row (`text` a catalogue key), its keys working anywhere in the worklist."""
        action = QAction(t(text), self, shortcut=QKeySequence(keys),
                         shortcutContext=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    @staticmethod
    def _button(action: QAction) -> QPushButton:
        """A button for an action, naming its keys in the tooltip."""
        button = QPushButton(action.text())
        button.setToolTip(t("window.worklist.action_keys", action=action.text(),
                            keys=action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        button.clicked.connect(action.trigger)
        action.enabledChanged.connect(button.setEnabled)
        return button

    def show_filter(self, kind: str) -> None:
        """Show one filter ('problems' from the window's warning), with the focus on the list."""
        self.filter.setCurrentIndex(max(self.filter.findData(kind), 0))
        self.table.setFocus()

    def refresh(self) -> None:
        """Reload the chosen filter from the register, keeping the search and the selected row."""
        keep = self.selected_id()
        entries = rows.load(self.services, self.filter.currentData(), dt.date.today(), audit=self.isVisible())
        self.model.set_entries(entries)
        self.model.set_query(self.search.text())
        self._fit_columns()
        self._select(keep)

    def _fit_columns(self) -> None:
        """Each column as wide as its contents; when that is wider than the table, the long texts
        give way first and then, if still needed, every column, so none hides off to the side
        (a 1366-pixel screen at 125 %)."""
        header = self.table.horizontalHeader()
        header.resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        widths = [header.sectionSize(column) for column in range(header.count())]
        excess = sum(widths) - self.table.viewport().width()
        every_column = range(len(widths))
        for columns, minimum in ((SHRINKING_COLUMNS, SHRUNK_MINIMUM), (every_column, header.minimumSectionSize())):
            excess -= _give_way(widths, columns, minimum, excess)
        for column, width in enumerate(widths):
            header.resizeSection(column, width)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def showEvent(self, event) -> None:
        """Fresh rows each time the list is shown, and that view is audited."""
        super().showEvent(event)
        self.refresh()

    def _search_changed(self, text: str) -> None:
        keep = self.selected_id()
        self.model.set_query(text)
        self._select(keep)

    def _select(self, inclusion_id: str | None) -> None:
        """Keep the selected row when it is still listed, else the first; actions only with a row."""
        target = 0
        for row in range(self.model.rowCount()):
            if self.model.index(row, 0).data(ID_ROLE) == inclusion_id:
                target = row
                break
        shown = self.model.rowCount()
        if shown:
            self.table.selectRow(target)
        self.withdraw_action.setEnabled(bool(shown))
        self.correct_action.setEnabled(bool(shown))
        self.count.setText(t("window.worklist.count", shown=shown, total=self.model.total()))
        self._show_detail()

    def _show_detail(self) -> None:
        index = self.table.currentIndex()
        message = index.siblingAtColumn(MESSAGE_COLUMN).data() if index.isValid() else ""
        patient = index.siblingAtColumn(COLUMN_NAMES.index("name")).data() or t("window.header.patient")
        self.detail.setText(t("window.worklist.detail_line", patient=patient, message=message) if message else "")
        self.detail.setStyleSheet(theme.css(theme.WRONG) if message and index.data(
            Qt.ItemDataRole.ForegroundRole) else "")

    def selected_id(self) -> str | None:
        index = self.table.currentIndex() if hasattr(self, "table") else QModelIndex()
        return index.siblingAtColumn(0).data(ID_ROLE) if index.isValid() else None

    def cell(self, row: int, column: str) -> str:
        """The text shown in a row (in the current order) under a column (its name in `COLUMNS`)."""
        return self.model.index(row, COLUMN_NAMES.index(column)).data() or ""

    def _fault(self, error: Exception) -> str:
        """Disk full, read-only, locked or damaged: each its own advice, in the window's language."""
        return failures.describe(error, self.services.registry.path).text(language())

    def withdraw(self, inclusion_id: str, reason: str) -> None:
        self.services.registry.withdraw(inclusion_id, reason)
        self.refresh()
        self.changed.emit()

    def ask_withdrawal_reason(self) -> str | None:
        dialog = QInputDialog(self)
        dialog.setObjectName("withdrawal")
        dialog.setWindowTitle(t("window.worklist.withdraw_title"))
        dialog.setLabelText(t("window.worklist.withdraw_question"))
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.textValue()

    def withdraw_selected(self) -> None:
        inclusion_id = self.selected_id()
        if not inclusion_id:
            return
        reason = self.ask_withdrawal_reason()
        if reason is None:
            return
        if not reason.strip():
            QMessageBox.warning(self, t("window.worklist.withdraw_title"), t("window.worklist.withdraw_no_reason"))
            return
        try:
            self.withdraw(inclusion_id, reason)
        except InvalidChange as error:
            QMessageBox.warning(self, t("window.worklist.withdraw_title"), say(error))
        except failures.FAULTS as error:
            QMessageBox.warning(self, t("window.worklist.withdraw_title"), self._fault(error))

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
            QMessageBox.warning(self, t("window.correction.title"), say(error))
            return
        except failures.FAULTS as error:
            QMessageBox.warning(self, t("window.correction.title"), self._fault(error))
            return
        self.refresh()
        self.changed.emit()


class CorrectionDialog(QDialog):
    """Correct the administrative fields of an inclusion; a reason is required."""

    FIELDS: ClassVar[dict[str, str]] = {"side": "window.correction.side", "clinician_agb": "window.inclusion.agb",
              "location": "window.inclusion.location", "explained_by": "window.inclusion.explained_by",
              "name": "window.worklist.column.name"}

    def __init__(self, record: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle(t("window.correction.title"))
        self.record = record
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for key, label in self.FIELDS.items():
            edit = QLineEdit(record.get(key) or "")
            edit.setAccessibleName(t(label))
            self.edits[key] = edit
            form.addRow(t(label), edit)
        self.reason = QLineEdit()
        self.reason.setAccessibleName(t("window.correction.reason"))
        form.addRow(t("window.correction.reason"), self.reason)
        self.message = ReadableLabel()
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
            label = t(self.FIELDS[error.field]) if error.field in self.FIELDS else error.field
            self.message.setText(t("window.field_problem", label=label, message=say(error.message)))
            return
        if not changes:
            self.message.setText(t("window.correction.nothing_changed"))
            return
        if not self.reason.text().strip():
            self.message.setText(t("window.correction.no_reason"))
            return
        self.accept()
