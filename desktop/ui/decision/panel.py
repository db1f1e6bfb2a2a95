"""One treatment option's column on the shared-decision page: its chances in words,
numbers and an icon array, and its trajectory charts.

Personal numbers (expected score, its 80% range, "35 of 100") only when the known inputs make
the prediction personal (`predictors/influence.py`); before that, whole-number ranges for people
with this diagnosis and no percentages. A relevant improvement that does not fit on the scale
from this starting score (pain already 1 of 10) is explained rather than shown as "0 of 100".
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout

from desktop.core import chances
from desktop.core.chances import count_in_100, score_digits
from desktop.core.states import TreatmentOption
from desktop.ui import theme
from desktop.ui.decision.charts import OPTION_COLOUR, IconArray
from desktop.ui.i18n import language, t
from desktop.ui.i18n import number as written
from desktop.ui.readable import ReadableLabel
from desktop.ui.state_words import OPTION_SUBTITLE, OPTION_TITLE


def percent(probability: float) -> str:
    return t("window.decision.percent", value=count_in_100(probability))


def plain(value: float) -> str:
    """A scale's end or step as written on it: '10', '0,5'."""
    return written(value, 0 if float(value).is_integer() else 1)


def scale_text(name: str, outcome) -> str:
    """An outcome's scale and which way is better, in words: 'Pijn 0–10, lager is beter'."""
    return chances.scale_text(name, outcome.low, outcome.high, outcome.higher_is_better, language())


def number(value: float, instrument_high: float) -> str:
    """A score as precise as its scale, as the handout writes it (`chances.score_digits`)."""
    return written(value, score_digits(instrument_high))


# The icon array's side: a share of the panel's width, within bounds (px).
ICONS_MIN, ICONS_MAX, ICONS_SHARE = 90, 200, 0.4


class OptionPanel(QFrame):
    def __init__(self, option: TreatmentOption, parent=None):
        super().__init__(parent)
        self.option = option
        colour = OPTION_COLOUR[option].name()
        self.setObjectName("option")
        self.setStyleSheet(f"#option {{ border: 2px solid {colour}; border-radius: 6px; background: {theme.PAPER}; }}")
        layout = QVBoxLayout(self)
        title = QLabel(theme.span(t(OPTION_TITLE[option]), colour, theme.TITLE_PT, bold=True)
                       + " " + theme.span(f"— {t(OPTION_SUBTITLE[option])}", theme.MUTED))
        title.setWordWrap(True)
        layout.addWidget(title)
        self.numbers = ReadableLabel()
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setWordWrap(True)
        self.numbers.setStyleSheet(theme.css(points=theme.NUMBERS_PT))
        self.numbers.setAccessibleName(t(OPTION_TITLE[option]))
        layout.addWidget(self.numbers)
        row = QHBoxLayout()
        self.icons = IconArray(OPTION_COLOUR[option])
        self.icons.setFixedSize(ICONS_MIN, ICONS_MIN)
        row.addWidget(self.icons, 0, Qt.AlignmentFlag.AlignTop)
        self.icon_text = ReadableLabel()
        self.icon_text.setWordWrap(True)
        self.icon_text.setStyleSheet(theme.css(points=theme.SMALL_PT))
        self.icon_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        row.addWidget(self.icon_text, 1)
        layout.addLayout(row)
        self.extra = ReadableLabel()
        self.extra.setWordWrap(True)
        self.extra.setTextFormat(Qt.TextFormat.RichText)
        self.extra.setStyleSheet(theme.css(points=theme.NOTE_PT))
        layout.addWidget(self.extra)
        layout.addStretch()

    def resizeEvent(self, event) -> None:
        """The icon array grows with the panel, so on a large screen the figures are large enough to count."""
        super().resizeEvent(event)
        side = max(ICONS_MIN, min(ICONS_MAX, round(self.width() * ICONS_SHARE)))
        if side != self.icons.width():
            self.icons.setFixedSize(side, side)

    def show_prediction(self, prediction, personal: bool = True) -> None:
        outcomes = ((prediction.pain, t("window.decision.pain")), (prediction.function, t("window.decision.function")))
        scales = " · ".join(scale_text(name, outcome) for outcome, name in outcomes)
        scales = f"<span style='color:{theme.MUTED}'><small>{scales}</small></span>"
        if not personal:
            self._show_general(outcomes, scales)
            return
        rows = []
        for outcome, name in outcomes:
            for month, value in ((3, outcome.month3), (12, outcome.month12)):
                rows.append(f"<tr><td>{t('window.decision.panel.outcome_month', outcome=name, month=month)}</td>"
                            f"<td align='right'>&nbsp;&nbsp;<b>{number(value.mean, outcome.high)}</b></td>"
                            f"<td style='color:{theme.MUTED}'>&nbsp;({number(value.p10, outcome.high)}–"
                            f"{number(value.p90, outcome.high)})</td></tr>")
        self.numbers.setText(f"<table cellspacing='1'>{''.join(rows)}</table>{scales}")
        pain_count = count_in_100(prediction.pain.improvement_probability)
        function_count = count_in_100(prediction.function.improvement_probability)
        pain = (t("window.decision.panel.less_pain", count=pain_count) if prediction.pain.improvement_possible
                else no_room(t("window.decision.pain"), prediction.pain))
        function = (t("window.decision.panel.better_function", count=function_count)
                    if prediction.function.improvement_possible
                    else no_room(t("window.decision.function"), prediction.function))
        headline = f"<b>{pain}</b>" if prediction.pain.improvement_possible else pain  # a count stands out
        self.icon_text.setText(f"{headline}<br><small>{function}</small>")
        self.icons.show()
        self.icons.set_count(pain_count, pain)
        extra = []
        work = prediction.return_to_work
        if work is not None:
            if work.median_days is None:
                median = t("window.decision.panel.median_unknown")
            elif work.median_days < 1:
                median = t("window.decision.panel.most_keep_working")
            else:
                median = t("window.decision.panel.median_days", days=round(work.median_days))
            extra.append(t("window.decision.panel.back_at_work", six_weeks=percent(work.back_within_6_weeks),
                           twelve_weeks=percent(work.back_within_12_weeks), median=median))
        if prediction.surgery_within_12_months is not None:
            extra.append(t("window.decision.panel.surgery_after_all",
                           chance=f"<b>{percent(prediction.surgery_within_12_months)}</b>"))
        self.extra.setText("<br>".join(extra))

    def _show_general(self, outcomes, scales: str) -> None:
        """For people with this diagnosis in general: whole-number ranges, no percentages."""
        rows = []
        for outcome, name in outcomes:
            for month, value in ((3, outcome.month3), (12, outcome.month12)):
                usual = t("window.decision.panel.usually", low=written(round(value.p10), 0),
                          high=written(round(value.p90), 0))
                rows.append(f"<tr><td>{t('window.decision.panel.outcome_month', outcome=name, month=month)}</td>"
                            f"<td>&nbsp;&nbsp;{usual}</td></tr>")
        self.numbers.setText(f"<i>{t('window.decision.panel.general')}</i>"
                             f"<table cellspacing='1'>{''.join(rows)}</table>{scales}")
        self.icons.set_count(0, "")
        self.icons.hide()
        self.icon_text.setText(t("window.decision.panel.general_chances"))
        self.extra.setText("")


def no_room(name: str, outcome) -> str:
    """Why there is no chance of a relevant improvement: the scale has no room for it from here."""
    low, high, change, baseline = (plain(v) for v in (outcome.low, outcome.high, outcome.relevant_change,
                                                      outcome.baseline))
    key = "window.decision.panel.no_room_higher" if outcome.higher_is_better else "window.decision.panel.no_room_lower"
    return t(key, outcome=name, baseline=baseline, low=low, high=high, change=change)
