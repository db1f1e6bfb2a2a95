"""Samen beslissen: both treatment options side by side, for this patient.

The clinician fills in what the models use (everything is optional: an unknown value is
estimated from the others and each field says so in words). Predictions are computed on a
worker thread a moment after the last change, so typing never waits for them; an answer for
an older input is dropped. Every number comes from the model card one click away, and
models trained on synthetic data say so at the top, in red.

The inputs stand in the order of how much they change this patient's prediction
(`predictors/influence.py`, computed with each prediction). The form is put in that order
only when nobody is typing in it — on arriving at the step and with the first answer for a
new diagnosis — so a field never moves under the cursor. While the inputs that carry most
of the model's influence are still estimated, the panels show a general estimate for
people with this diagnosis instead of exact-looking personal numbers, and say which
answers would make it personal.
"""

from __future__ import annotations

import html
import itertools

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.core.states import InputSource, ModelState, TreatmentOption
from desktop.ui import theme
from desktop.ui.background import Operations
from desktop.ui.decision import provenance
from desktop.ui.decision.charts import OPTION_COLOUR, OPTION_STYLE, TrajectoryChart
from desktop.ui.decision.model_card import CONDITION_NAMES, ModelCardDialog
from desktop.ui.decision.panel import OptionPanel
from desktop.ui.i18n import language, t
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import OPTION_TEXT

CONSERVATIVE, SURGERY = TreatmentOption.CONSERVATIVE, TreatmentOption.SURGERY
PREDICTION_DELAY_MS = 150
PREDICTION = "prediction"

CHOICES = {
    "sex": (("F", "window.decision.choice.female"), ("M", "window.decision.choice.male")),
    "work_status": (("office", "window.decision.choice.office"), ("physical", "window.decision.choice.physical"),
                    ("not_working", "window.decision.choice.not_working"),
                    ("retired", "window.decision.choice.retired")),
    "ncs_severity": ((0, "window.decision.choice.ncs_0"), (1, "window.decision.choice.ncs_1"),
                     (2, "window.decision.choice.ncs_2"), (3, "window.decision.choice.ncs_3")),
    "eaton_stage": ((1, "window.decision.choice.eaton_1"), (2, "window.decision.choice.eaton_2"),
                    (3, "window.decision.choice.eaton_3"), (4, "window.decision.choice.eaton_4")),
}
YES_NO = ((1, "window.yes"), (0, "window.no"))
# The scales by the names predictors give them (`predictors/schema.py`), as a chart title says them.
INSTRUMENTS = {"NRS pain 0-10": "window.decision.instrument.nrs_pain",
               "BCTQ functional status scale 1-5": "window.decision.instrument.bctq_fss",
               "MHQ function 0-100": "window.decision.instrument.mhq_function"}


# Where a field's value comes from, in words (not only colour), under the field and in its description.
SOURCE_TEXT = {InputSource.ESTIMATED: "window.decision.source.estimated",
               InputSource.QUESTIONNAIRE: "window.decision.source.questionnaire",
               InputSource.ENTERED: "window.decision.source.entered"}
SOURCE_DESCRIPTION = {InputSource.ESTIMATED: "window.decision.source.estimated_description",
                      InputSource.QUESTIONNAIRE: "window.decision.source.questionnaire_description",
                      InputSource.ENTERED: "window.decision.source.entered_description"}


def field_label(name: str) -> str:
    """A model input by its label, as `predict --json`'s messages name it (one table of labels)."""
    from desktop.operations.prediction import field_label as labelled  # imported with the form already

    return labelled(name, language())


def instrument_name(name: str) -> str:
    return t(INSTRUMENTS[name]) if name in INSTRUMENTS else name


def field_name(name: str) -> str:
    """A field in a sentence ("estimated from the others: BMI, work"): its label without its scale."""
    return field_label(name).split(" (")[0]


# The inputs' column: wide enough for a label beside its field, on a narrow screen a label above it;
# the two options' panels keep PREDICTIONS_MIN_WIDTH first (the patient reads those).
INPUTS_MIN_WIDTH, INPUTS_MAX_WIDTH, PREDICTIONS_MIN_WIDTH = 250, 360, 620


class DecisionView(QWidget):
    """The Samen beslissen page; `DecisionStep` in steps/decision.py wraps it as a step."""

    def __init__(self, consultation, parent=None):
        super().__init__(parent)
        self.consultation = consultation
        self.models = None
        self.condition: str | None = None
        self.operations = Operations(self)
        self.prediction = None
        self.timer = QTimer(self, singleShot=True, interval=PREDICTION_DELAY_MS)
        self.timer.timeout.connect(self._predict)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.banner = ReadableLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(theme.css(theme.ALERT_TEXT, theme.ALERT, theme.BODY_PT, bold=True,
                                            extra="padding: 6px; border-radius: 4px"))
        self.banner.hide()
        outer.addWidget(self.banner)
        self.state = ReadableLabel()
        self.state.setWordWrap(True)
        self.state.setStyleSheet(theme.css(points=theme.NOTE_PT))
        self.state.setTextFormat(Qt.TextFormat.RichText)
        self.state.setAccessibleName(t("window.decision.predictions"))
        outer.addWidget(self.state)

        body = QHBoxLayout()
        outer.addLayout(body, 1)
        self.form_host = QWidget()
        column = QVBoxLayout(self.form_host)
        self.intake_status = provenance.status_label()  # what the questionnaire lookup found
        column.addWidget(self.intake_status)
        self.form = QFormLayout()
        column.addLayout(self.form)
        column.addStretch(1)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # every field under its label: a row never reflows as its source line changes while one types
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form_host)
        scroll.setFixedWidth(INPUTS_MIN_WIDTH)  # resizeEvent widens it when the predictions keep their room
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setAccessibleName(t("window.decision.form"))
        body.addWidget(scroll)
        self.inputs_scroll = scroll

        right = QVBoxLayout()
        panels = QHBoxLayout()
        self.panels = {option: OptionPanel(option) for option in TreatmentOption}
        for panel in self.panels.values():
            panels.addWidget(panel, 1)
        right.addLayout(panels, 0)
        charts = QGridLayout()
        self.pain_chart = TrajectoryChart(t("window.decision.pain"))
        self.function_chart = TrajectoryChart(t("window.decision.function"))
        charts.addWidget(self.pain_chart, 0, 0)
        charts.addWidget(self.function_chart, 0, 1)
        right.addLayout(charts, 1)
        foot = QHBoxLayout()
        self.legend = ReadableLabel()
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet(theme.css(theme.MUTED))
        foot.addWidget(self.legend, 1)
        self.card_button = QPushButton(t("window.decision.card.button"))
        self.card_button.setAccessibleName(t("window.decision.card.show"))
        self.card_button.clicked.connect(self.show_card)
        foot.addWidget(self.card_button)
        right.addLayout(foot)
        body.addLayout(right, 1)
        self.inputs: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self.provenance: dict[str, QLabel] = {}  # each field's source in words: geschat, uit de vragenlijst, …
        self.influence = None  # the last answer's `predictors.influence.Influence`
        self.ordered_by_influence = False  # the form stands in the order of the last answer's influence
        self.away = True  # not on screen since the last reorder (arriving at the step may reorder)
        self.typed = False  # something was changed in the form since it was built
        self._show_content(False)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width = max(INPUTS_MIN_WIDTH, min(INPUTS_MAX_WIDTH, self.width() - PREDICTIONS_MIN_WIDTH))
        if width != self.inputs_scroll.width():
            self.inputs_scroll.setFixedWidth(width)

    # -- state -----------------------------------------------------------------------------
    def set_models(self, models, state: ModelState, detail: str) -> None:
        self.models = models
        if models is None:
            self.banner.hide()
            self.state.setVisible(True)
            self.state.setText(
                t("window.decision.loading") if state.busy else
                t("window.decision.no_models") + (f"<br><small>{html.escape(detail)}</small>" if detail else ""))
            self._show_content(False)
            return
        self.set_condition(self.condition, force=True)

    def set_condition(self, condition: str | None, force: bool = False) -> None:
        if condition == self.condition and not force:
            return
        self.condition = condition
        self.consultation.decision_support = None  # shown for another diagnosis
        if self.models is None:
            return
        if condition is None or condition not in self.models.conditions:
            self.timer.stop()
            self.operations.cancel(PREDICTION)  # an answer still on its way is for the old diagnosis
            self.state.setVisible(True)
            self.state.setText(t("window.decision.diagnosis_first"))
            self._show_content(False)
            return
        card = self.models.card(condition)
        self.banner.setVisible(bool(card.get("synthetic")))
        self.banner.setText(t("window.decision.synthetic"))
        self.influence = None  # the order of another diagnosis' inputs; the first answer brings this one's
        self._build_form(condition)
        self._show_content(True)
        self.schedule()

    def _show_content(self, visible: bool) -> None:
        for widget in (*self.panels.values(), self.pain_chart, self.function_chart, self.card_button,
                       self.legend, self.form_host):
            widget.setVisible(visible)

    def _build_form(self, condition: str, order: tuple[str, ...] = ()) -> None:
        """The inputs in `order` (most influential first; unlisted ones after, as the models list them)."""
        from desktop.operations.prediction import baseline_columns

        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs.clear()
        self.messages.clear()
        self.provenance.clear()
        self.ordered_by_influence = bool(order)
        self.typed = False
        age = self.consultation.prediction_patient(condition).get("age")
        self.form.addRow(QLabel(f"<b>{t('window.decision.form')}</b>"))
        hint = QLabel(t("window.decision.order_hint"))
        hint.setWordWrap(True)
        hint.setStyleSheet(theme.css(theme.MUTED, points=theme.SMALL_PT))
        self.form.addRow(hint)
        self.form.addRow(t("window.decision.age"),
                         QLabel(t("window.decision.age_value", age=age) if age is not None else "—"))
        columns = {column.name: column for column in baseline_columns(condition) if column.name != "age"}
        for name in (*(name for name in order if name in columns), *(name for name in columns if name not in order)):
            column = columns[name]
            label = field_label(column.name)
            current = self._shown(column.name)
            choices = CHOICES.get(column.name) or (YES_NO if column.kind == "binary" else None)
            widget: QComboBox | QLineEdit
            if choices:
                widget = QComboBox()
                widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                widget.setMinimumContentsLength(6)
                widget.addItem(t("window.unknown"), None)
                for value, key in choices:
                    widget.addItem(t(key), value)
                widget.currentIndexChanged.connect(lambda _, w=widget, n=column.name: self._set(n, w.currentData()))
            else:
                widget = QLineEdit()
                widget.setMinimumWidth(80)
                widget.textChanged.connect(lambda text, n=column.name: self._set(n, text.strip() or None))
                widget.editingFinished.connect(lambda n=column.name: self._show_questionnaire_if_cleared(n))
            _show_value(widget, current)
            self._show_placeholder(column.name, widget)
            widget.setAccessibleName(label)
            source = QLabel()
            source.setStyleSheet(theme.css(theme.MUTED, points=theme.SMALL_PT))
            source.setWordWrap(True)  # its text changes as one types: it must not widen the row and reflow the form
            message = QLabel()
            message.setStyleSheet(theme.css(theme.WRONG))
            message.setWordWrap(True)
            message.hide()
            box = QVBoxLayout()
            box.setSpacing(1)
            box.addWidget(widget)
            box.addWidget(source)
            box.addWidget(message)
            caption = QLabel(label)
            caption.setBuddy(widget)
            self.form.addRow(caption, box)
            self.inputs[column.name] = widget
            self.messages[column.name] = message
            self.provenance[column.name] = source
        self._chain_focus()
        self._check_inputs()

    def _chain_focus(self) -> None:
        """Tab walks the fields in the order they stand, then to the model card: a rebuilt form's
        widgets would otherwise come last in the window's focus chain."""
        widgets = [*self.inputs.values(), self.card_button]
        for before, after in itertools.pairwise(widgets):
            QWidget.setTabOrder(before, after)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.away = True  # the user left the step: nobody is typing in its form

    def reorder_inputs(self, arriving: bool = False) -> None:
        """Put the fields in the order of the last answer's influence, unless someone may be typing
        in them (the focus is in the form, something was typed since it was built, and the user did
        not just arrive) or they already stand so. The focus, if it was in the form, goes to the
        first field, as on arriving."""
        influence = self.influence
        returned, self.away = arriving and self.away, self.away and not arriving
        if influence is None or self.condition is None or self.condition not in (self.models.conditions
                                                                                 if self.models else ()):
            return
        focus = QApplication.focusWidget()
        focused = focus is not None and self.form_host.isAncestorOf(focus)
        if focused and self.typed and not returned:
            return
        order = tuple(name for name in influence.order if name in self.inputs)
        if self.ordered_by_influence and order == tuple(self.inputs):
            return
        self._build_form(self.condition, order)
        if focused and self.inputs:
            next(iter(self.inputs.values())).setFocus(Qt.FocusReason.OtherFocusReason)

    def _set(self, name: str, value) -> None:
        self.typed = True
        if value is None:  # a typed correction cleared: the questionnaire's answer again, if any
            self.consultation.intake.pop(name, None)
            if isinstance(self.inputs.get(name), QComboBox):
                self._show_questionnaire_if_cleared(name)
        else:
            self.consultation.intake[name] = value
        self._check_inputs()  # the field's source (geschat / hier ingevuld) follows the typing at once
        self.schedule()

    # -- the intake questionnaire -----------------------------------------------------------
    def _shown(self, name: str):
        """What a field shows: what was typed here, else the questionnaire's answer."""
        if name in self.consultation.intake:
            return self.consultation.intake[name]
        return self.consultation.questionnaire.get(name)

    def _show_placeholder(self, name: str, widget: QWidget) -> None:
        """An emptied field shows (greyed) the questionnaire's answer it falls back to."""
        if isinstance(widget, QLineEdit):
            answer = self.consultation.questionnaire.get(name)
            widget.setPlaceholderText(t("window.unknown") if answer is None else _text(answer))

    def _show_questionnaire_if_cleared(self, name: str) -> None:
        """A field left empty (or set to unknown) shows the questionnaire's answer again: that is
        what the prediction uses now."""
        widget = self.inputs.get(name)
        if widget is not None and name not in self.consultation.intake \
                and self.consultation.questionnaire.get(name) is not None:
            _show_value(widget, self.consultation.questionnaire[name])

    def questionnaire_changed(self) -> None:
        """The window found this patient's questionnaire (or dropped another's): every field not
        typed over shows its answer, or nothing, and the prediction follows."""
        for name, widget in self.inputs.items():
            if name not in self.consultation.intake:
                _show_value(widget, self.consultation.questionnaire.get(name))
            self._show_placeholder(name, widget)
        if self.inputs:
            self._check_inputs()
        self.schedule()

    def show_intake_status(self, text: str, detail: str = "") -> None:
        self.intake_status.setText(text)
        self.intake_status.setToolTip(detail)
        self.intake_status.setVisible(bool(text))

    def schedule(self) -> None:
        if self.models is not None and self.condition in self.models.conditions:
            self.timer.start()

    # -- predictions ------------------------------------------------------------------------
    def _check_inputs(self) -> dict:
        """The patient row as the models will read it: a value they cannot use is named next to its
        field and treated as unknown; each field says where its value comes from."""
        from desktop.operations.prediction import PatientValueError, baseline_columns, input_sources

        assert self.condition is not None
        patient = self.consultation.prediction_patient(self.condition)
        bad = {}
        for column in baseline_columns(self.condition):
            try:
                column.parse(patient.get(column.name))
            except PatientValueError as error:
                bad[column.name] = error.nl if language() == "nl" else error.en
                patient.pop(column.name, None)  # predict as if unknown; the field says why
        for name, message in self.messages.items():
            message.setText(bad.get(name, ""))
            message.setVisible(name in bad)
        values = {column.name: column.parse(patient.get(column.name)) for column in baseline_columns(self.condition)}
        sources = input_sources(self.condition, values, self.consultation.questionnaire)
        day = provenance.questionnaire_day(self.consultation.questionnaire_completed_at)
        for name, label in self.provenance.items():
            source = sources.get(name, InputSource.ESTIMATED)
            words, description = provenance.dated(source, day) or (t(SOURCE_TEXT[source]),
                                                                   t(SOURCE_DESCRIPTION[source]))
            label.setText(words)
            self.inputs[name].setAccessibleDescription(description)
        return patient

    def _predict(self) -> None:
        from desktop.operations.prediction import decision_support

        if self.models is None or self.condition is None or self.condition not in self.models.conditions:
            return  # the diagnosis changed while the timer ran
        patient = self._check_inputs()
        models = self.models  # plain values for the worker thread
        questionnaire, completed = dict(self.consultation.questionnaire), self.consultation.questionnaire_completed_at

        def work():
            prediction = models.predict(patient)
            return prediction, {option: models.similar_patients(patient, option, k=30) for option in TreatmentOption}, \
                decision_support(prediction, patient, questionnaire, completed), \
                models.influence(patient)  # kept with the inclusion; the form's order and personal or general

        self.operations.run(PREDICTION, work, success=self._predicted, failure=self._prediction_failed)

    def _prediction_failed(self, error: Exception) -> None:
        """A model problem is shown, never a crash."""
        from desktop.operations.prediction import PatientValueError

        self.consultation.decision_support = None  # nothing shown, nothing kept
        if isinstance(error, PatientValueError):
            reason = t("window.field_problem", label=field_label(error.field),
                       message=error.nl if language() == "nl" else error.en)
        else:
            reason = f"{type(error).__name__}: {error}"
        self.state.setVisible(True)
        self.state.setText(html.escape(t("window.decision.no_prediction", reason=reason)))

    def _predicted(self, answer) -> None:
        prediction, similar, self.consultation.decision_support, self.influence = answer
        self.prediction = prediction
        if not self.ordered_by_influence:
            self.reorder_inputs()  # the first answer for this diagnosis: nobody has typed in the form yet
        personal = self.influence.personal
        notes = [note.nl if language() == "nl" else note.en for note in prediction.notes
                 if note.code not in ("synthetic", "imputed")]
        if not personal:
            condition = t(CONDITION_NAMES[self.condition]) if self.condition in CONDITION_NAMES else self.condition
            names = ", ".join(field_name(name) for name in self.influence.to_personal)
            notes.insert(0, "<b>" + html.escape(t("window.decision.general", condition=condition)) + "</b> "
                         + html.escape(t("window.decision.to_personal", names=names)))
        elif prediction.imputed:
            names = ", ".join(field_name(name) for name in prediction.imputed)
            notes.append(theme.span(html.escape(t("window.decision.imputed", names=names)), theme.MUTED))
        self.state.setText(" ".join(notes))
        self.state.setVisible(bool(notes))
        for option, panel in self.panels.items():
            panel.show_prediction(prediction.option(option), personal)
        some = next(iter(similar.values()), None)
        if some is not None:
            pain, function = prediction.conservative.pain, prediction.conservative.function
            pain_title = t("window.decision.chart.pain_title", instrument=instrument_name(pain.instrument))
            function_title = t("window.decision.chart.function_title", instrument=instrument_name(function.instrument))
            self.pain_chart.set_data(pain_title, pain.low, pain.high, pain.higher_is_better,
                                     some.months, {o: s.pain_band for o, s in similar.items()})
            self.function_chart.set_data(function_title, function.low, function.high,
                                         function.higher_is_better, some.months,
                                         {o: s.function_band for o, s in similar.items()})
            count = len(some.trajectories)
            swatches = [f"<span style='color:{OPTION_COLOUR[option].name()}'>{OPTION_STYLE[option].legend}</span> "
                        f"{t(OPTION_TEXT[option])}" for option in (CONSERVATIVE, SURGERY)]
            self.legend.setText(f"{' &nbsp; '.join(swatches)} — {t('window.decision.legend', count=count)}")

    def show_card(self) -> None:
        if self.models is None or self.condition is None:
            return
        ModelCardDialog(self.models.card(self.condition), self).exec()


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _show_value(widget: QWidget, value) -> None:
    """Put a value in a field without it counting as typed (no change signal)."""
    blocked = widget.blockSignals(True)
    try:
        if isinstance(widget, QComboBox):
            index = next((i for i in range(1, widget.count()) if value is not None and widget.itemData(i) == value), 0)
            widget.setCurrentIndex(index)
        elif isinstance(widget, QLineEdit):
            widget.setText("" if value is None else _text(value))
    finally:
        widget.blockSignals(blocked)
