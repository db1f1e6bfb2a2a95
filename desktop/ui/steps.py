"""The five consultation steps. Each writes its fields into the shared Consultation and
emits `changed`; the window re-evaluates and tells every step to refresh."""

from __future__ import annotations

import datetime as dt
import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QCompleter,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.core.eligibility import ELIGIBLE, FAIL, NEEDS_INFORMATION, NOT_ELIGIBLE, PASS, Decision
from desktop.core.handout import explanation_html
from desktop.core.identifiers import shipped_uzovi_table
from desktop.core.states import InsurerSource, ModelState, RecordState
from desktop.operations import failures
from desktop.operations.consultation import Consultation
from desktop.operations.services import Services
from desktop.ui import theme
from desktop.ui.i18n import language, local_datetime, tr
from desktop.ui.state_words import INSURER_SOURCE_TEXT, OPTION_TEXT, RECORD_STATE_TEXT, SIDE_TEXT

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

    def show_message(self, text: str | None) -> None:
        self.setText(text or "")
        self.setVisible(bool(text))


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

    def show_problems(self, problems: dict[str, str]) -> None:
        for key, message in self.messages.items():
            message.show_message(problems.get(key))

    def refresh(self, decision: Decision | None, problems: dict[str, str]) -> None:
        self.show_problems(problems)


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


def _local_time(moment: str) -> str:
    when = local_datetime(moment)
    return when.strftime("%d-%m-%Y %H:%M") if when else moment


class InsuranceStep(Step):
    title = "Verzekering & bundel"
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
        self.add_field(form, "Bundel", self.bundle, "bundle")

        self.insurer = QComboBox()
        self.insurer.setEditable(True)
        self.insurer.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.insurer.addItem("", "")
        for insurer in sorted(shipped_uzovi_table().values(), key=lambda i: i.label):
            self.insurer.addItem(insurer.display, insurer.uzovi)
        self.insurer.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.insurer.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.insurer.activated.connect(self._insurer_picked)
        self.add_field(form, "Verzekeraar", self.insurer, "insurer")
        self.uzovi = self.line_edit("insurer_uzovi", "3311")
        self.uzovi.setMaxLength(4)
        self.uzovi.textEdited.connect(lambda _: setattr(self.consultation, "insurer_source", InsurerSource.CARD))
        self.add_field(form, "UZOVI-code", self.uzovi, "insurer_uzovi")
        self.source = QLabel()
        self.source.setAccessibleName(tr("Bron van de verzekeringsgegevens"))
        self.source.setWordWrap(True)
        self.lookup_button = QPushButton(tr("Opnieuw opzoeken"))
        self.lookup_button.setAccessibleName(tr("Verzekering opnieuw opzoeken bij de server"))
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
        self.add_field(form, "Diagnose (ICD-10)", self.diagnosis, "diagnosis")

        sides = QWidget()
        row = QHBoxLayout(sides)
        row.setContentsMargins(0, 0, 0, 0)
        self.side_group = QButtonGroup(self)
        for value, text in SIDE_TEXT.items():
            button = QRadioButton(tr(text))
            button.setAccessibleName(f"{tr('Zijde')}: {tr(text)}")
            button.setChecked(consultation.side == value)
            button.toggled.connect(lambda on, v=value: on and self._set("side", v))
            self.side_group.addButton(button)
            row.addWidget(button)
        row.addStretch()
        self.add_field(form, "Zijde", sides, "side")

        self.inclusion_date = self.line_edit("inclusion_date", tr("JJJJ-MM-DD"))
        self.add_field(form, "Inclusiedatum", self.inclusion_date, "inclusion_date")

        self.facts_form = QFormLayout()
        self.facts_box = QWidget()
        self.facts_box.setLayout(self.facts_form)
        form.addRow(self.facts_box)
        self._build_facts()

        right = QWidget()
        column = QVBoxLayout(right)
        heading = QLabel(tr("Beoordeling"))
        heading.setStyleSheet(theme.css(points=theme.HEADING_PT, bold=True))
        column.addWidget(heading)
        self.status = QLabel()
        self.status.setAccessibleName(tr("Beoordeling"))
        column.addWidget(self.status)
        self.rules = QListWidget()
        self.rules.setAccessibleName("Inclusieregels")
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
            self.facts_form.addRow(QLabel(f"<b>{tr('Vragen bij de intake')}</b>"))
        for rule in rules:
            if rule.fact_type == "boolean":
                widget = QComboBox()
                for text, value in (("—", None), (tr("ja"), True), (tr("nee"), False)):
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

    def show_lookup(self, text: str) -> None:
        self.lookup_text = text
        self._render_source()

    def _render_source(self) -> None:
        c = self.consultation
        source = InsurerSource(c.insurer_source)
        parts = []
        if c.insurer_uzovi:
            parts.append(f"{tr('Bron')}: {tr(INSURER_SOURCE_TEXT[source])}")
            if source.looked_up and c.insurer_checked_at:
                parts.append(f"({tr('gecontroleerd')} {_local_time(c.insurer_checked_at)})")
        if self.lookup_text and not (c.insurer_uzovi and not source.looked_up):
            parts.append(f"— {self.lookup_text}")
        self.source.setText(" ".join(parts))

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
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{rule.outcome}: {rule.reason.get(language())}")
            self.rules.addItem(item)

    def bundle_changed(self) -> None:
        self._fill_diagnoses()
        self._build_facts()


class ExplanationStep(Step):
    title = "Uitleg"

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.dutch = QPushButton(tr("Nederlands"))
        self.english = QPushButton(tr("Engels"))
        for button, code in ((self.dutch, "nl"), (self.english, "en")):
            button.setCheckable(True)
            button.setChecked(consultation.explanation_language == code)
            button.clicked.connect(lambda _, c=code: self.set_language(c))
            bar.addWidget(button)
        bar.addStretch()
        self.pdf = QPushButton(tr("Opslaan als PDF…"))
        self.pdf.clicked.connect(self.save_pdf_dialog)
        self.print_button = QPushButton(tr("Afdrukken…"))
        self.print_button.clicked.connect(self.print_dialog)
        bar.addWidget(self.pdf)
        bar.addWidget(self.print_button)
        layout.addLayout(bar)
        self.view = QTextBrowser()
        self.view.setAccessibleName("Uitleg voor de patiënt")
        font = QFont(self.view.font())
        font.setPointSize(theme.PREVIEW_PT)
        self.view.setFont(font)
        layout.addWidget(self.view, 1)
        self.notice = QLabel()
        layout.addWidget(self.notice)

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
        return explanation_html(bundle, condition, start, self.consultation.explanation_language,
                                printed_on=dt.date.today() if printed else None)

    def refresh(self, decision, problems):
        super().refresh(decision, problems)
        self.view.setHtml(self.html())

    def save_pdf(self, path: str) -> None:
        """Write the handout with the patient's dates as a PDF (A4)."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(path)
        self._print(printer)

    def _print(self, printer: QPrinter) -> None:
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        document = QTextDocument()
        font = QFont(self.view.font())
        font.setPointSize(theme.BODY_PT)
        document.setDefaultFont(font)
        document.setHtml(self.html(printed=True))
        document.print_(printer)
        self.consultation.handout_printed = True
        self.notice.setText(tr("Handout opgeslagen"))
        self.changed.emit()

    def save_pdf_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("Opslaan als PDF…"), "bundel-uitleg.pdf", "PDF (*.pdf)")
        if path:
            self.save_pdf(path if path.lower().endswith(".pdf") else path + ".pdf")

    def print_dialog(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if QPrintDialog(printer, self).exec():
            self._print(printer)


class DecisionStep(Step):
    """Shared decision-making: predictions per option once the models are loaded."""

    title = "Samen beslissen"

    def __init__(self, services, consultation):
        super().__init__(services, consultation)
        from desktop.ui.decision import DecisionView

        layout = QVBoxLayout(self)
        self.view = DecisionView(consultation)
        layout.addWidget(self.view)
        self.set_model_state(ModelState.LOADING)

    def set_model_state(self, state: ModelState, detail: str = "") -> None:
        self.view.set_models(self.services.models if state is ModelState.READY else None, state, detail)

    def refresh(self, decision, problems):
        super().refresh(decision, problems)
        condition = decision.condition.id if decision is not None and decision.condition is not None else None
        self.view.set_condition(condition)


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
            elsewhere = [f"{k}: {v}" for k, v in problems.items() if k not in self.messages]
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
