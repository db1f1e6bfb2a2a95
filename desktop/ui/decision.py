"""Samen beslissen: both treatment options side by side, for this patient.

The clinician fills in what the models use (everything is optional: an unknown value is
estimated from the others and the screen says so). Predictions are computed on a worker
thread a moment after the last change, so typing never waits for them; an answer for
an older input is dropped. Every number comes from the model card one click away, and
models trained on synthetic data say so at the top, in red.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.core.states import ModelState, TreatmentOption
from desktop.ui import theme
from desktop.ui.background import Operations
from desktop.ui.i18n import language, tr
from desktop.ui.state_words import OPTION_SUBTITLE, OPTION_TEXT, OPTION_TITLE

CONSERVATIVE, SURGERY = TreatmentOption.CONSERVATIVE, TreatmentOption.SURGERY
OPTION_COLOUR = {CONSERVATIVE: QColor(theme.CONSERVATIVE), SURGERY: QColor(theme.SURGERY)}
PREDICTION_DELAY_MS = 150
PREDICTION = "prediction"

FIELD_LABELS = {
    "sex": "Geslacht", "bmi": "BMI (kg/m²)", "diabetes": "Diabetes", "smoker": "Rookt",
    "work_status": "Werk", "symptom_duration_months": "Klachtduur (maanden)",
    "dominant_hand_affected": "Dominante hand aangedaan", "bilateral": "Klachten aan beide handen",
    "pcs": "Pijncatastroferen (PCS 0–52)", "phq4": "Angst/somberheid (PHQ-4, 0–12)",
    "expectation": "Verwachte verbetering (0–10)", "prior_injection": "Eerder injectie gehad",
    "nrs_pain_0": "Pijn nu (NRS 0–10)", "ncs_severity": "Zenuwgeleidingsonderzoek",
    "thenar_atrophy": "Thenaratrofie", "night_symptoms": "Nachtelijke klachten",
    "bctq_sss_0": "BCTQ symptomen (1–5)", "bctq_fss_0": "BCTQ functie (1–5)",
    "eaton_stage": "Eaton-stadium", "mcp_hyperextension": "MCP-hyperextensie",
    "key_pinch_kg": "Knijpkracht sleutelgreep (kg)", "mhq_pain_0": "MHQ pijn (0–100)",
    "mhq_function_0": "MHQ functie (0–100)",
}
CHOICES = {
    "sex": (("F", "vrouw"), ("M", "man")),
    "work_status": (("office", "werkt, vooral kantoorwerk"), ("physical", "werkt, vooral lichamelijk werk"),
                    ("not_working", "werkt niet"), ("retired", "gepensioneerd")),
    "ncs_severity": ((0, "0 normaal"), (1, "1 licht"), (2, "2 matig"), (3, "3 ernstig")),
    "eaton_stage": ((1, "stadium 1"), (2, "stadium 2"), (3, "stadium 3"), (4, "stadium 4")),
}
YES_NO = ((1, "ja"), (0, "nee"))


def percent(probability: float) -> str:
    return f"{round(probability * 100):d}%"


def number(value: float, instrument_high: float) -> str:
    return f"{value:.1f}" if instrument_high <= 10 else f"{value:.0f}"


# -- drawing ----------------------------------------------------------------------------------
class IconArray(QWidget):
    """100 figures, `count` of them coloured: 'n van de 100 patiënten zoals u'."""

    def __init__(self, colour: QColor, parent=None):
        super().__init__(parent)
        self.colour = colour
        self.count = 0
        self.setMinimumSize(100, 100)

    def set_count(self, count: int, description: str) -> None:
        self.count = max(0, min(100, count))
        self.setAccessibleName(description)
        self.setToolTip(description)
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        cell = side / 10
        grey = QColor(theme.EMPTY_ICON)
        for index in range(100):
            row, column = divmod(index, 10)
            colour = self.colour if index < self.count else grey
            x, y = column * cell, row * cell
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            head = cell * 0.22
            painter.drawEllipse(QPointF(x + cell / 2, y + cell * 0.27), head, head)
            body = QRectF(x + cell * 0.22, y + cell * 0.5, cell * 0.56, cell * 0.42)
            painter.drawRoundedRect(body, cell * 0.2, cell * 0.2)
        painter.end()


class TrajectoryChart(QWidget):
    """Similar patients' scores at 0–3–6–12 months: median line and 10–90% band per option."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = title
        self.series: dict[str, object] = {}  # option -> predictors.Band
        self.low, self.high, self.higher_is_better = 0.0, 10.0, False
        self.months: tuple[int, ...] = (0, 3, 6, 12)
        self.setMinimumSize(300, 150)

    def set_data(self, title: str, low: float, high: float, higher_is_better: bool, months, bands: dict) -> None:
        self.title, self.low, self.high = title, low, high
        self.higher_is_better, self.months, self.series = higher_is_better, tuple(months), dict(bands)
        summary = "; ".join(
            f"{tr(OPTION_TITLE[o]).split(' (')[0]}: " + ", ".join(
                f"{m} mnd {v:.1f}" for m, v in zip(self.months, band.median) if v is not None)
            for o, band in self.series.items())
        self.setAccessibleName(f"{title}. {summary}")
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(theme.CHART_PT)
        painter.setFont(font)
        left, right, top, bottom = 40, 26, 24, 26
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        painter.setPen(QColor(theme.TEXT))
        direction = tr("hoger = beter") if self.higher_is_better else tr("lager = beter")
        title = painter.fontMetrics().elidedText(f"{self.title} ({direction})", Qt.TextElideMode.ElideRight,
                                                 self.width() - 8)
        painter.drawText(QRectF(4, 2, self.width() - 8, 20), Qt.AlignmentFlag.AlignHCenter, title)
        span = max(self.months) or 1

        def point(month: float, value: float) -> QPointF:
            fraction = (value - self.low) / ((self.high - self.low) or 1)
            return QPointF(plot.left() + plot.width() * month / span, plot.bottom() - plot.height() * fraction)

        grid = QPen(QColor(theme.GRID))
        for step in range(5):
            value = self.low + (self.high - self.low) * step / 4
            y = point(0, value).y()
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(QColor(theme.MUTED))
            painter.drawText(QRectF(0, y - 8, left - 6, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:g}")
        for month in self.months:
            x = point(month, self.low).x()
            painter.drawText(QRectF(x - 30, plot.bottom() + 4, 60, 18), Qt.AlignmentFlag.AlignHCenter,
                             f"{month} {tr('mnd')}")
        for option, band in self.series.items():
            colour = OPTION_COLOUR[option]
            known = [(m, lo, hi, mid) for m, lo, hi, mid in zip(self.months, band.p10, band.p90, band.median)
                     if None not in (lo, hi, mid)]
            if len(known) < 2:
                continue
            area = QPainterPath(point(known[0][0], known[0][2]))
            for month, _, high, _ in known[1:]:
                area.lineTo(point(month, high))
            for month, low, _, _ in reversed(known):
                area.lineTo(point(month, low))
            area.closeSubpath()
            fill = QColor(colour)
            fill.setAlpha(45)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawPath(area)
            painter.setPen(QPen(colour, 2.5))
            for (m1, _, _, v1), (m2, _, _, v2) in itertools.pairwise(known):
                painter.drawLine(point(m1, v1), point(m2, v2))
        painter.end()


# -- one treatment option ---------------------------------------------------------------------
class OptionPanel(QFrame):
    def __init__(self, option: TreatmentOption, parent=None):
        super().__init__(parent)
        self.option = option
        colour = OPTION_COLOUR[option].name()
        self.setObjectName("option")
        self.setStyleSheet(f"#option {{ border: 2px solid {colour}; border-radius: 6px; background: {theme.PAPER}; }}")
        layout = QVBoxLayout(self)
        title = QLabel(theme.span(tr(OPTION_TITLE[option]), colour, theme.TITLE_PT, bold=True)
                       + " " + theme.span(f"— {tr(OPTION_SUBTITLE[option])}", theme.MUTED))
        title.setWordWrap(True)
        layout.addWidget(title)
        self.numbers = QLabel()
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setWordWrap(True)
        self.numbers.setStyleSheet(theme.css(points=theme.NUMBERS_PT))
        self.numbers.setAccessibleName(tr(OPTION_TITLE[option]))
        layout.addWidget(self.numbers)
        row = QHBoxLayout()
        self.icons = IconArray(OPTION_COLOUR[option])
        self.icons.setFixedSize(100, 100)
        row.addWidget(self.icons, 0, Qt.AlignmentFlag.AlignTop)
        self.icon_text = QLabel()
        self.icon_text.setWordWrap(True)
        self.icon_text.setStyleSheet(theme.css(points=theme.SMALL_PT))
        self.icon_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.icon_text, 1)
        layout.addLayout(row)
        self.extra = QLabel()
        self.extra.setWordWrap(True)
        self.extra.setTextFormat(Qt.TextFormat.RichText)
        self.extra.setStyleSheet(theme.css(points=theme.NOTE_PT))
        layout.addWidget(self.extra)
        layout.addStretch()

    def show_prediction(self, prediction) -> None:
        rows = []
        for outcome, name in ((prediction.pain, tr("Pijn")), (prediction.function, tr("Functie"))):
            for month, value in ((3, outcome.month3), (12, outcome.month12)):
                rows.append(f"<tr><td>{name} {month} {tr('mnd')}</td>"
                            f"<td align='right'>&nbsp;&nbsp;<b>{number(value.mean, outcome.high)}</b></td>"
                            f"<td style='color:{theme.MUTED}'>&nbsp;({number(value.p10, outcome.high)}–"
                            f"{number(value.p90, outcome.high)})</td></tr>")
        self.numbers.setText(f"<table cellspacing='1'>{''.join(rows)}</table>")
        pain_count = round(prediction.pain.improvement_probability * 100)
        function_count = round(prediction.function.improvement_probability * 100)
        text = (f"<b>{pain_count} {tr('van de 100')}</b> "
                f"{tr('patiënten zoals u hebben na 12 maanden duidelijk minder pijn')}"
                f"<br><small>{function_count} {tr('van de 100')} "
                f"{tr('kunnen hun hand duidelijk beter gebruiken')}</small>")
        self.icon_text.setText(text)
        self.icons.set_count(pain_count, f"{pain_count} {tr('van de 100')} "
                                         f"{tr('patiënten zoals u hebben na 12 maanden duidelijk minder pijn')}")
        extra = []
        work = prediction.return_to_work
        if work is not None:
            if work.median_days is None:
                median = f"{tr('mediaan')} {tr('onbekend')}"
            elif work.median_days < 1:
                median = tr("de meesten stoppen niet met werken")
            else:
                median = f"{tr('mediaan')} {work.median_days:.0f} {tr('dagen')}"
            extra.append(f"{tr('Weer aan het werk')}: {percent(work.back_within_6_weeks)} {tr('binnen 6 weken')}, "
                         f"{percent(work.back_within_12_weeks)} {tr('binnen 12 weken')} ({median})")
        if prediction.surgery_within_12_months is not None:
            extra.append(f"{tr('Kans op alsnog een operatie binnen 12 maanden')}: "
                         f"<b>{percent(prediction.surgery_within_12_months)}</b>")
        self.extra.setText("<br>".join(extra))


# -- the model card ---------------------------------------------------------------------------
class ModelCardDialog(QDialog):
    def __init__(self, markdown: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("Modelkaart"))
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(tr("Modelkaart"))
        self.browser.setMarkdown(markdown or tr("Geen modelkaart beschikbaar."))
        layout.addWidget(self.browser)
        close = QPushButton(tr("Sluiten"))
        close.clicked.connect(self.accept)
        layout.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)


# -- the step -----------------------------------------------------------------------------------
class DecisionView(QWidget):
    """The Samen beslissen page; `DecisionStep` in steps.py wraps it as a step."""

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
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(theme.css(theme.ALERT_TEXT, theme.ALERT, theme.BODY_PT, bold=True,
                                            extra="padding: 6px; border-radius: 4px"))
        self.banner.hide()
        outer.addWidget(self.banner)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setStyleSheet(theme.css(points=theme.NOTE_PT))
        self.state.setTextFormat(Qt.TextFormat.RichText)
        self.state.setAccessibleName(tr("Voorspellingen"))
        outer.addWidget(self.state)

        body = QHBoxLayout()
        outer.addLayout(body, 1)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form_host)
        scroll.setFixedWidth(340)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setAccessibleName(tr("Gegevens voor de voorspelling"))
        body.addWidget(scroll)

        right = QVBoxLayout()
        panels = QHBoxLayout()
        self.panels = {option: OptionPanel(option) for option in TreatmentOption}
        for panel in self.panels.values():
            panels.addWidget(panel, 1)
        right.addLayout(panels, 0)
        charts = QGridLayout()
        self.pain_chart = TrajectoryChart(tr("Pijn"))
        self.function_chart = TrajectoryChart(tr("Functie"))
        charts.addWidget(self.pain_chart, 0, 0)
        charts.addWidget(self.function_chart, 0, 1)
        right.addLayout(charts, 1)
        foot = QHBoxLayout()
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet(theme.css(theme.MUTED))
        foot.addWidget(self.legend, 1)
        self.card_button = QPushButton(tr("Modelkaart…"))
        self.card_button.setAccessibleName(tr("Modelkaart tonen"))
        self.card_button.clicked.connect(self.show_card)
        foot.addWidget(self.card_button)
        right.addLayout(foot)
        body.addLayout(right, 1)
        self.inputs: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self._show_content(False)

    # -- state -----------------------------------------------------------------------------
    def set_models(self, models, state: ModelState, detail: str) -> None:
        self.models = models
        if models is None:
            self.banner.hide()
            self.state.setVisible(True)
            self.state.setText(
                tr("Voorspellingsmodellen worden op de achtergrond geladen…") if state.busy else
                tr("Er zijn geen voorspellingsmodellen beschikbaar. Zonder modellen toont deze stap geen "
                   "voorspellingen; bespreek de behandelopties zoals gebruikelijk.")
                + (f"<br><small>{detail}</small>" if detail else ""))
            self._show_content(False)
            return
        self.set_condition(self.condition, force=True)

    def set_condition(self, condition: str | None, force: bool = False) -> None:
        if condition == self.condition and not force:
            return
        self.condition = condition
        if self.models is None:
            return
        if condition is None or condition not in self.models.conditions:
            self.timer.stop()
            self.operations.cancel(PREDICTION)  # an answer still on its way is for the old diagnosis
            self.state.setVisible(True)
            self.state.setText(tr("Vul eerst de diagnose in (stap 2): voorspellingen zijn er voor "
                                  "carpaletunnelsyndroom en duimbasisartrose."))
            self._show_content(False)
            return
        card = self.models.card(condition)
        self.banner.setVisible(bool(card.get("synthetic")))
        self.banner.setText(tr("Synthetische referentiedata — niet voor klinisch gebruik.") + " "
                            + tr("Deze getallen komen uit een demonstratiemodel."))
        self._build_form(condition)
        self._show_content(True)
        self.schedule()

    def _show_content(self, visible: bool) -> None:
        for widget in (*self.panels.values(), self.pain_chart, self.function_chart, self.card_button,
                       self.legend, self.form_host):
            widget.setVisible(visible)

    def _build_form(self, condition: str) -> None:
        from desktop.operations.prediction import baseline_columns

        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs.clear()
        self.messages.clear()
        age = self.consultation.prediction_patient(condition).get("age")
        self.form.addRow(QLabel(f"<b>{tr('Gegevens voor de voorspelling')}</b>"))
        self.form.addRow(tr("Leeftijd"), QLabel(f"{age} ({tr('geboortedatum')})" if age is not None else "—"))
        for column in baseline_columns(condition):
            if column.name == "age":
                continue
            label = tr(FIELD_LABELS.get(column.name, column.name))
            current = self.consultation.intake.get(column.name)
            choices = CHOICES.get(column.name) or (YES_NO if column.kind == "binary" else None)
            if choices:
                widget = QComboBox()
                widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                widget.setMinimumContentsLength(8)
                widget.addItem(tr("onbekend"), None)
                for value, text in choices:
                    widget.addItem(tr(text), value)
                index = widget.findData(current) if current is not None else 0
                widget.setCurrentIndex(max(index, 0))
                widget.currentIndexChanged.connect(lambda _, w=widget, n=column.name: self._set(n, w.currentData()))
            else:
                shown = "" if current is None else f"{current:g}" if isinstance(current, float) else str(current)
                widget = QLineEdit(shown)
                widget.setPlaceholderText(tr("onbekend"))
                widget.setMinimumWidth(80)
                widget.textChanged.connect(lambda text, n=column.name: self._set(n, text.strip() or None))
            widget.setAccessibleName(label)
            message = QLabel()
            message.setStyleSheet(theme.css(theme.WRONG))
            message.setWordWrap(True)
            message.hide()
            box = QVBoxLayout()
            box.setSpacing(1)
            box.addWidget(widget)
            box.addWidget(message)
            caption = QLabel(label)
            caption.setBuddy(widget)
            self.form.addRow(caption, box)
            self.inputs[column.name] = widget
            self.messages[column.name] = message

    def _set(self, name: str, value) -> None:
        if value is None:
            self.consultation.intake.pop(name, None)
        else:
            self.consultation.intake[name] = value
        self.schedule()

    def schedule(self) -> None:
        if self.models is not None and self.condition in self.models.conditions:
            self.timer.start()

    # -- predictions ------------------------------------------------------------------------
    def _predict(self) -> None:
        from desktop.operations.prediction import PatientValueError, baseline_columns

        if self.models is None or self.condition not in self.models.conditions:
            return  # the diagnosis changed while the timer ran
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
        models = self.models  # plain values for the worker thread
        self.operations.run(PREDICTION, lambda: (models.predict(patient), {
            option: models.similar_patients(patient, option, k=30) for option in TreatmentOption}),
            success=self._predicted, failure=self._prediction_failed)

    def _prediction_failed(self, error: Exception) -> None:
        """A model problem is shown, never a crash."""
        from desktop.operations.prediction import PatientValueError

        if isinstance(error, PatientValueError):
            reason = f"{error.field}: {error.nl if language() == 'nl' else error.en}"
        else:
            reason = f"{type(error).__name__}: {error}"
        self.state.setVisible(True)
        self.state.setText(f"{tr('Geen voorspelling')}: {reason}")

    def _predicted(self, answer) -> None:
        prediction, similar = answer
        self.prediction = prediction
        notes = [note.nl if language() == "nl" else note.en for note in prediction.notes
                 if note.code not in ("synthetic", "imputed")]
        if prediction.imputed:
            names = ", ".join(tr(FIELD_LABELS.get(name, name)).split(" (")[0] for name in prediction.imputed)
            notes.append(theme.span(f"{tr('Onbekend, dus geschat uit de overige gegevens')}: {names}.", theme.MUTED))
        self.state.setText(" ".join(notes))
        self.state.setVisible(bool(notes))
        for option, panel in self.panels.items():
            panel.show_prediction(prediction.option(option))
        some = next(iter(similar.values()), None)
        if some is not None:
            pain, function = prediction.conservative.pain, prediction.conservative.function
            self.pain_chart.set_data(f"{tr('Pijn')} — {pain.instrument}", pain.low, pain.high, pain.higher_is_better,
                                     some.months, {o: s.pain_band for o, s in similar.items()})
            self.function_chart.set_data(f"{tr('Functie')} — {function.instrument}", function.low, function.high,
                                         function.higher_is_better, some.months,
                                         {o: s.function_band for o, s in similar.items()})
            count = len(some.trajectories)
            swatches = [f"<span style='color:{OPTION_COLOUR[option].name()}'>■</span> {tr(OPTION_TEXT[option])}"
                        for option in (CONSERVATIVE, SURGERY)]
            self.legend.setText(
                f"{' &nbsp; '.join(swatches)} — "
                f"{tr('lijn: mediaan, vlak: 80% van de')} {count} "
                f"{tr('meest vergelijkbare patiënten per behandeling')}."
                f" {tr('Getallen: verwachte score, tussen haakjes het bereik van 80% van de patiënten.')}")

    def show_card(self) -> None:
        if self.models is None or self.condition is None:
            return
        ModelCardDialog(self.models.card_markdown(self.condition), self).exec()
