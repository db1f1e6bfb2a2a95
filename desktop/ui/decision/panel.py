"""One treatment option's column on the shared-decision page: its chances in words,
numbers and an icon array, and its trajectory charts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout

from desktop.core.states import TreatmentOption
from desktop.ui import theme
from desktop.ui.decision.charts import OPTION_COLOUR, IconArray
from desktop.ui.i18n import tr
from desktop.ui.state_words import OPTION_SUBTITLE, OPTION_TITLE


def percent(probability: float) -> str:
    return f"{round(probability * 100):d}%"


def number(value: float, instrument_high: float) -> str:
    return f"{value:.1f}" if instrument_high <= 10 else f"{value:.0f}"


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
        self.icons.setFixedSize(ICONS_MIN, ICONS_MIN)
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

    def resizeEvent(self, event) -> None:
        """The icon array grows with the panel, so on a large screen the figures are large enough to count."""
        super().resizeEvent(event)
        side = max(ICONS_MIN, min(ICONS_MAX, round(self.width() * ICONS_SHARE)))
        if side != self.icons.width():
            self.icons.setFixedSize(side, side)

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
