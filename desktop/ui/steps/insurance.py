"""Step 2, insurance and diagnosis: the insurer (looked up, cached or typed), bundle,
diagnosis, side and the facts the bundle asks, with the eligibility rules ticked off.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.core.eligibility import FAIL, PASS
from desktop.core.identifiers import shipped_uzovi_table
from desktop.core.states import InsurerSource
from desktop.ui import theme
from desktop.ui.i18n import language, local_datetime, say, t
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import INSURER_SOURCE_TEXT, SIDE_TEXT
from desktop.ui.steps.base import RULE_MARK, Step, status_label


def _local_time(moment: str) -> str:
    when = local_datetime(moment)
    return when.strftime("%d-%m-%Y %H:%M") if when else moment


RULE_OUTCOME = {PASS: "window.insurance.rule.pass", FAIL: "window.insurance.rule.fail"}


class InsuranceStep(Step):
    title = "window.steps.insurance"
    lookup_requested = Signal()

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        layout = QHBoxLayout(self)
        left = QWidget()
        form = QFormLayout(left)
        layout.addWidget(left, 1)

        self.bundle = QComboBox()
        for bundle in services.bundles.active():
            self.bundle.addItem(bundle.name.get(language()), bundle.id)
        index = self.bundle.findData(consultation.bundle)
        self.bundle.setCurrentIndex(max(index, 0))
        if self.bundle.count():
            consultation.bundle = self.bundle.currentData()
        self.bundle.currentIndexChanged.connect(lambda _: self._set("bundle", self.bundle.currentData()))
        self.add_field(form, t("window.insurance.bundle"), self.bundle, "bundle")

        self.insurer = QComboBox()
        self.insurer.setEditable(True)
        self.insurer.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.insurer.addItem("", "")
        for insurer in sorted(shipped_uzovi_table().values(), key=lambda i: i.label):
            self.insurer.addItem(insurer.display, insurer.uzovi)
        completer = self.insurer.completer()
        assert completer is not None, "an editable combo box has a completer"
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.insurer.activated.connect(self._insurer_picked)
        self.add_field(form, t("window.insurance.insurer"), self.insurer, "insurer")
        self.uzovi = self.line_edit("insurer_uzovi", t("window.placeholder.uzovi"))
        self.uzovi.setMaxLength(4)
        self.uzovi.textEdited.connect(lambda _: setattr(self.consultation, "insurer_source", InsurerSource.CARD))
        self.add_field(form, t("window.insurance.uzovi"), self.uzovi, "insurer_uzovi")
        self.source = ReadableLabel()
        self.source.setAccessibleName(t("window.insurance.source"))
        self.source.setWordWrap(True)
        self.lookup_button = QPushButton(t("window.insurance.lookup_again"))
        self.lookup_button.setAccessibleName(t("window.insurance.lookup_again_name"))
        self.lookup_button.clicked.connect(self.lookup_requested.emit)
        self.lookup_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        form.addRow("", self.source)
        form.addRow("", self.lookup_button)
        self.lookup_text = ""

        self.diagnosis = QComboBox()
        self.diagnosis.setEditable(True)
        self.diagnosis.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._fill_diagnoses()
        self.diagnosis.setEditText(consultation.diagnosis)
        self.diagnosis.editTextChanged.connect(lambda text: self._set("diagnosis", text.split(" ")[0].strip()))
        self.add_field(form, t("window.insurance.diagnosis"), self.diagnosis, "diagnosis")

        sides = QWidget()
        row = QHBoxLayout(sides)
        row.setContentsMargins(0, 0, 0, 0)
        self.side_group = QButtonGroup(self)
        for value, key in SIDE_TEXT.items():
            button = QRadioButton(t(key))
            button.setAccessibleName(t("window.insurance.side_choice", side=t(key)))
            button.setChecked(consultation.side == value)
            button.toggled.connect(lambda on, v=value: self._set("side", v) if on else None)
            self.side_group.addButton(button)
            row.addWidget(button)
        row.addStretch()
        self.add_field(form, t("window.insurance.side"), sides, "side")

        self.inclusion_date = self.line_edit("inclusion_date", t("window.placeholder.date"))
        self.add_field(form, t("window.insurance.inclusion_date"), self.inclusion_date, "inclusion_date")

        self.facts_form = QFormLayout()
        self.facts_box = QWidget()
        self.facts_box.setLayout(self.facts_form)
        form.addRow(self.facts_box)
        self._build_facts()

        right = QWidget()
        column = QVBoxLayout(right)
        heading = QLabel(t("window.insurance.assessment"))
        heading.setStyleSheet(theme.css(points=theme.HEADING_PT, bold=True))
        column.addWidget(heading)
        self.status = ReadableLabel()
        self.status.setAccessibleName(t("window.insurance.assessment"))
        column.addWidget(self.status)
        self.rules = QListWidget()
        self.rules.setAccessibleName(t("window.insurance.rules"))
        self.rules.setWordWrap(True)
        self.rules.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rules.setStyleSheet(f"QListWidget {{ font-size: {theme.BODY_PT}pt; }} "
                                 "QListWidget::item { padding: 4px; }")
        column.addWidget(self.rules, 1)
        layout.addWidget(right, 1)

    def _fill_diagnoses(self) -> None:
        self.diagnosis.clear()
        bundle = self.services.bundles.bundles.get(self.consultation.bundle)
        for condition in bundle.conditions if bundle else ():
            for code in condition.codes:
                self.diagnosis.addItem(f"{code} {condition.label.get(language())}")

    def _insurer_picked(self, index: int) -> None:
        code = self.insurer.itemData(index)
        if code:
            self.consultation.insurer_source = InsurerSource.MANUAL
            self.uzovi.setText(code)

    def _build_facts(self) -> None:
        while self.facts_form.rowCount():
            self.facts_form.removeRow(0)
        bundle = self.services.bundles.bundles.get(self.consultation.bundle)
        rules = bundle.fact_rules if bundle else ()
        self.facts_box.setVisible(bool(rules))
        if rules:
            self.facts_form.addRow(QLabel(f"<b>{t('window.insurance.intake_questions')}</b>"))
        for rule in rules:
            if rule.fact is None or rule.question is None:
                continue  # a fact rule has both (the bundle file is refused without them)
            widget: QComboBox | QLineEdit
            if rule.fact_type == "boolean":
                widget = QComboBox()
                for text, value in (("—", None), (t("window.yes"), True), (t("window.no"), False)):
                    widget.addItem(text, value)
                widget.currentIndexChanged.connect(
                    lambda _, w=widget, name=rule.fact: self._set_fact(name, w.currentData()))
            else:
                widget = QLineEdit()
                widget.textChanged.connect(lambda text, name=rule.fact: self._set_fact(name, text.strip() or None))
            self.add_field(self.facts_form, rule.question.get(language()), widget, f"facts.{rule.fact}")

    def _set_fact(self, name: str, value) -> None:
        self.consultation.facts[name] = value
        self.changed.emit()

    def show_lookup(self, message: object) -> None:
        """The insurer lookup's answer: a catalogue message (`Msg`) or text in the window's language."""
        self.lookup_text = say(message)
        self._render_source()

    def _render_source(self) -> None:
        c = self.consultation
        source = InsurerSource(c.insurer_source)
        parts = []
        if c.insurer_uzovi:
            source_text = t(INSURER_SOURCE_TEXT[source])
            if source.looked_up and c.insurer_checked_at:
                parts.append(t("window.insurance.source_checked", source=source_text,
                               moment=_local_time(c.insurer_checked_at)))
            else:
                parts.append(t("window.insurance.source_line", source=source_text))
        if self.lookup_text and not (c.insurer_uzovi and not source.looked_up):
            parts.append(f"— {self.lookup_text}")
        self.source.setText(" ".join(parts))

    def focus_target(self):
        """The UZOVI code from the card when the insurer is not known yet (typing it is the quick way)."""
        if not self.uzovi.text() and not self.uzovi.isReadOnly():
            return self.uzovi
        return super().focus_target()

    def refresh(self, decision, problems):
        problems = dict(problems)
        super().refresh(decision, problems)
        self._render_source()
        matching = self.insurer.findData(self.consultation.insurer_uzovi)
        if matching >= 0 and matching != self.insurer.currentIndex():
            self.insurer.setCurrentIndex(matching)
        text, colour = status_label(decision, self.consultation)
        self.status.setText(theme.span(text, colour, theme.STATUS_PT, bold=True))
        self.rules.clear()
        for rule in decision.rules if decision else ():
            mark = RULE_MARK.get(rule.outcome, "?")
            item = QListWidgetItem(f"{mark}  {rule.reason.get(language())}")
            colour = {PASS: theme.GOOD, FAIL: theme.WRONG}.get(rule.outcome, theme.ATTENTION)
            item.setForeground(QColor(colour))
            outcome = t(RULE_OUTCOME.get(rule.outcome, "window.insurance.rule.unknown"))
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         t("window.insurance.rule.line", outcome=outcome, reason=rule.reason.get(language())))
            self.rules.addItem(item)

    def bundle_changed(self) -> None:
        self._fill_diagnoses()
        self._build_facts()
