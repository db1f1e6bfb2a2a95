"""The drawings of the shared-decision page: an icon array (so many in 100) and a
trajectory chart (mean and 80 % range over the months), one colour per option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from desktop.core.states import TreatmentOption
from desktop.ui import theme
from desktop.ui.i18n import number, t
from desktop.ui.state_words import OPTION_TITLE

OPTION_COLOUR = {TreatmentOption.CONSERVATIVE: QColor(theme.CONSERVATIVE),
                 TreatmentOption.SURGERY: QColor(theme.SURGERY)}


def _tick(value: float) -> str:
    """An axis value as short as it can be, with a decimal comma in Dutch."""
    return number(value, 0) if float(value).is_integer() else number(value, 1)


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
        draw_icon_array(painter, min(self.width(), self.height()), self.count, self.colour)
        painter.end()


def draw_icon_array(painter: QPainter, side: float, count: int, colour: QColor) -> None:
    """100 figures in a square of `side`, the first `count` filled in `colour`, the others an
    outline: tellable in grey too (on screen and on the printed handout)."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    cell = side / 10
    hollow = QPen(QColor(theme.EMPTY_ICON), max(1.0, cell * 0.08))
    for index in range(100):
        row, column = divmod(index, 10)
        x, y = column * cell, row * cell
        if index < count:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
        else:
            painter.setPen(hollow)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        head = cell * 0.22
        painter.drawEllipse(QPointF(x + cell / 2, y + cell * 0.27), head, head)
        body = QRectF(x + cell * 0.22, y + cell * 0.5, cell * 0.56, cell * 0.42)
        painter.drawRoundedRect(body, cell * 0.2, cell * 0.2)


@dataclass(frozen=True)
class OptionStyle:
    """How an option looks besides its colour, so the two can be told apart in grey or by a
    reader who does not see the colours: a line style and a marker, shown in the legend too."""

    line: Qt.PenStyle
    marker: str  # "circle" or "square"
    legend: str  # the same as characters in the legend text


OPTION_STYLE = {TreatmentOption.CONSERVATIVE: OptionStyle(Qt.PenStyle.SolidLine, "circle", "━●━"),
                TreatmentOption.SURGERY: OptionStyle(Qt.PenStyle.DashLine, "square", "╍■╍")}


def draw_marker(painter: QPainter, marker: str, centre: QPointF, radius: float) -> None:
    if marker == "square":
        painter.drawRect(QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius))
    else:
        painter.drawEllipse(centre, radius, radius)


class Band(Protocol):
    """What a chart reads of a `predictors.Band` (the window imports no predictors)."""

    @property
    def median(self) -> Sequence[float | None]: ...
    @property
    def p10(self) -> Sequence[float | None]: ...
    @property
    def p90(self) -> Sequence[float | None]: ...


class TrajectoryChart(QWidget):
    """Similar patients' scores at 0–3–6–12 months: median line and 10–90% band per option."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = title
        self.series: dict[TreatmentOption, Band] = {}
        self.low, self.high, self.higher_is_better = 0.0, 10.0, False
        self.months: tuple[int, ...] = (0, 3, 6, 12)
        self.setMinimumSize(200, 150)

    def set_data(self, title: str, low: float, high: float, higher_is_better: bool, months: Iterable[int],
                 bands: Mapping[str, Band]) -> None:
        self.title, self.low, self.high = title, low, high
        self.higher_is_better, self.months = higher_is_better, tuple(months)
        self.series = {TreatmentOption(option): band for option, band in bands.items()}
        summary = "; ".join(
            t("window.decision.chart.option_values", option=t(OPTION_TITLE[o]), values=", ".join(
                t("window.decision.chart.month_value", month=m, value=number(v))
                for m, v in zip(self.months, band.median) if v is not None))
            for o, band in self.series.items())
        self.setAccessibleName(t("window.decision.chart.summary", title=title, summary=summary))
        self.update()

    def heading(self) -> str:
        """The title drawn above the chart, with which way is better."""
        direction = t("window.decision.chart.higher_better" if self.higher_is_better
                      else "window.decision.chart.lower_better")
        return t("window.decision.chart.heading", title=self.title, direction=direction)

    def month_label(self, month: int) -> str:
        return t("window.decision.chart.month", month=month)

    def painted_texts(self) -> list[str]:
        """Every text the chart draws (it has no child widgets to read them from)."""
        return [self.heading(), *(self.month_label(month) for month in self.months)]

    def chart_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(theme.CHART_PT)
        return font

    def heading_rect(self) -> QRectF:
        """Where the heading goes: wrapped onto a second line rather than cut off in a narrow panel
        ("Functie — BCTQ functionele status 1–5 (lag…")."""
        wrap = int(Qt.AlignmentFlag.AlignHCenter) | int(Qt.TextFlag.TextWordWrap)
        needed = QFontMetricsF(self.chart_font()).boundingRect(QRectF(0, 0, self.width() - 8, 1000), wrap,
                                                                self.heading())
        return QRectF(4, 2, self.width() - 8, needed.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self.chart_font())
        heading = self.heading_rect()
        left, right, top, bottom = 40, 26, heading.bottom() + 6, 26
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(heading, int(Qt.AlignmentFlag.AlignHCenter) | int(Qt.TextFlag.TextWordWrap), self.heading())
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
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, _tick(value))
        for month in self.months:
            x = point(month, self.low).x()
            painter.drawText(QRectF(x - 30, plot.bottom() + 4, 60, 18), Qt.AlignmentFlag.AlignHCenter,
                             self.month_label(month))
        for option, band in self.series.items():
            colour = OPTION_COLOUR[option]
            known = [(m, lo, hi, mid) for m, lo, hi, mid in zip(self.months, band.p10, band.p90, band.median)
                     if lo is not None and hi is not None and mid is not None]
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
            painter.drawPath(area)  # the fill only helps; the band's edges carry it (3:1, thin dotted lines)
            style = OPTION_STYLE[option]
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(colour, 1.2, Qt.PenStyle.DotLine))
            for edge in (1, 2):
                painter.drawPolyline([point(row[0], row[edge]) for row in known])
            painter.setPen(QPen(colour, 2.5, style.line))
            painter.drawPolyline([point(m, v) for m, _, _, v in known])
            painter.setPen(QPen(colour, 1.5))
            painter.setBrush(colour)
            for m, _, _, v in known:
                draw_marker(painter, style.marker, point(m, v), 4.0)
        painter.end()
