"""The model card, one click away from every number on the shared-decision page.

Rendered here from the card's structured content (`predictors/card.py` writes it as JSON when
a model is trained): every sentence from the message catalogue in the window's language, each
predictor by its human label, numbers and dates as the reader writes them. The Markdown card
next to the model files stays the complete technical documentation (in English, with the
candidate models and the case-mix checks) for IT and for re-validation.
"""

from __future__ import annotations

import datetime as dt
import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QPushButton, QTextBrowser, QVBoxLayout

from desktop.ui.i18n import language, t
from desktop.ui.i18n import number as written
from desktop.ui.state_words import OPTION_TEXT

CARD_TITLES = {"CTS": "window.card.title.cts", "CMC1_OA": "window.card.title.cmc1_oa"}
CONDITION_NAMES = {"CTS": "window.decision.condition.cts", "CMC1_OA": "window.decision.condition.cmc1_oa"}
OUTCOME_NAMES = {"pain": "window.decision.pain", "function": "window.decision.function"}
LIMITATIONS = ("window.card.limitation.choice", "window.card.limitation.linear", "window.card.limitation.floor",
               "window.card.limitation.work", "window.card.limitation.estimated", "window.card.limitation.local")
METHOD = ("window.card.method.scores", "window.card.method.improvement", "window.card.method.return_to_work",
          "window.card.method.surgery", "window.card.method.missing", "window.card.method.untaken",
          "window.card.method.similar")


def card_html(card: dict, personal_share: float) -> str:
    """The card as HTML in the window's language; `personal_share` is the threshold of the
    general estimate (`predictors.influence.PERSONAL_SHARE`), documented here."""
    from desktop.operations.prediction import field_label

    condition = card.get("condition", "")
    data, evaluation = card.get("data", {}), card.get("evaluation", {})
    title = t(CARD_TITLES[condition]) if condition in CARD_TITLES else condition
    parts = [f"<h1>{_e(t('window.decision.card.heading.title', title=title))}</h1>"]
    if card.get("synthetic"):
        parts.append(f"<p><b>⚠ {_e(t('window.decision.synthetic'))}</b></p>")
    option_counts = data.get("n_by_option", {})
    period = data.get("period", {})
    facts = [
        t("window.card.version", version=card.get("version", ""), date=_date(card.get("trained_at"))),
        t("window.card.data", n=data.get("n", 0), conservative=option_counts.get("conservative", 0),
          surgery=option_counts.get("surgery", 0), start=_date(period.get("from")), end=_date(period.get("to")),
          source=t("window.card.source.synthetic" if data.get("synthetic") else "window.card.source.clinic")),
        t("window.card.split", train=data.get("n_train", 0), test=data.get("n_test", 0)),
        t("window.card.predictors",
          names=", ".join(field_label(name, language()) for name in card.get("predictors", ()))),
        t("window.card.not_used"),
    ]
    parts.append(_list(facts))
    condition_name = t(CONDITION_NAMES[condition]) if condition in CONDITION_NAMES else condition
    parts += [_h2("window.decision.card.heading.intended_use"),
              f"<p>{_e(t('window.card.intended_use', condition=condition_name))}</p>",
              _h2("window.decision.card.heading.method"), _list([t(key) for key in METHOD])]
    parts += [_h2("window.card.heading.personal"),
              f"<p>{_e(t('window.card.personal', share=written(personal_share * 100, 0)))}</p>"]
    parts += [_h2("window.decision.card.heading.performance"), f"<p>{_e(t('window.card.design'))}</p>",
              _h3("window.decision.card.heading.scores"), _score_table(evaluation.get("metrics", {})),
              _h3("window.decision.card.heading.probabilities"), _probability_table(evaluation.get("metrics", {})),
              f"<p>{_e(t('window.card.calibration_note'))}</p>"]
    overlap = card.get("overlap")
    if overlap:
        low, high = overlap["propensity_surgery_range"]
        text = t("window.card.overlap", low=written(low * 100, 0), high=written(high * 100, 0),
                 outside=written(overlap["fraction_outside_5_95"] * 100, 1))
        parts += [_h2("window.decision.card.heading.overlap"), f"<p>{_e(text)}</p>"]
    limitations = [t(key) for key in LIMITATIONS]
    limitations.append(t("window.card.limitation.synthetic" if card.get("synthetic")
                         else "window.card.limitation.confidential"))
    parts += [_h2("window.decision.card.heading.limitations"), _list(limitations)]
    files = [t("window.card.file", name=name, digest=digest) for name, digest in card.get("files", {}).items()]
    files += [f"{name} {version}" for name, version in card.get("libraries", {}).items()]
    files.append(t("window.card.technical"))
    parts += [_h2("window.decision.card.heading.files"), _list(files)]
    return "\n".join(parts)


def _score_table(metrics: dict) -> str:
    head = [t("window.card.column.option"), t("window.card.column.outcome"), t("window.card.column.month"),
            t("window.card.column.n"), t("window.card.column.rmse"), t("window.card.column.r2"),
            t("window.card.column.slope"), t("window.card.column.coverage")]
    rows = []
    for option in OPTION_TEXT:
        for outcome, name in OUTCOME_NAMES.items():
            for month in (3, 12):
                m = metrics.get(option, {}).get(outcome, {}).get(f"month{month}")
                if m:
                    rows.append([t(OPTION_TEXT[option]), t(name), str(month), str(m["n"]), _n(m["rmse"], 2),
                                 _n(m["r2"], 2), _n(m["calibration_slope"], 2), _percent(m["coverage_80"])])
    return _table(head, rows)


def _probability_table(metrics: dict) -> str:
    head = [t("window.card.column.option"), t("window.card.column.item"), t("window.card.column.n"),
            t("window.card.column.observed"), t("window.card.column.predicted"), t("window.card.column.auc"),
            t("window.card.column.slope"), t("window.card.column.brier")]
    rows = []
    for option in OPTION_TEXT:
        section = metrics.get(option, {})
        items = [(t("window.card.item.less_pain"), section.get("pain", {}).get("relevant_improvement_12m")),
                 (t("window.card.item.better_function"), section.get("function", {}).get("relevant_improvement_12m")),
                 (t("window.card.item.surgery"), section.get("surgery_within_12m"))]
        work = section.get("return_to_work") or {}
        items += [(t("window.card.item.back_6_weeks"), work.get("day42")),
                  (t("window.card.item.back_12_weeks"), work.get("day84"))]
        for name, m in items:
            if m:
                rows.append([t(OPTION_TEXT[option]), name, str(m["n"]), _percent(m["observed"]),
                             _percent(m["mean_predicted"]), _n(m["auc"], 2), _n(m["calibration_slope"], 2),
                             _n(m["brier"], 3)])
        if work.get("c_index") is not None:
            rows.append([t(OPTION_TEXT[option]), t("window.card.item.c_index", value=_n(work["c_index"], 2)),
                         str(work["n"]), "", "", "", "", ""])
    return _table(head, rows)


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th align='left'>{_e(text)}&nbsp;</th>" for text in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(text)}&nbsp;</td>" for text in row) + "</tr>" for row in rows)
    return f"<table cellspacing='0' cellpadding='3' border='1'><tr>{cells}</tr>{body}</table>"


def _n(value, digits: int) -> str:
    return "–" if value is None else written(float(value), digits)


def _percent(value) -> str:
    return "–" if value is None else t("window.decision.percent", value=written(float(value) * 100, 0))


def _date(text: str | None) -> str:
    """An ISO date or time as dd-mm-jjjj."""
    try:
        return dt.datetime.fromisoformat(str(text)).strftime("%d-%m-%Y")
    except ValueError:
        return str(text or "")


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _h2(key: str) -> str:
    return f"<h2>{_e(t(key))}</h2>"


def _h3(key: str) -> str:
    return f"<h3>{_e(t(key))}</h3>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in items) + "</ul>"


class ModelCardDialog(QDialog):
    def __init__(self, card: dict | None, parent=None):
        from desktop.operations.prediction import PERSONAL_SHARE

        super().__init__(parent)
        self.setWindowTitle(t("window.decision.card.title"))
        self.resize(820, 640)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(t("window.decision.card.title"))
        self.browser.setHtml(card_html(card, PERSONAL_SHARE) if card else _e(t("window.decision.card.none")))
        layout.addWidget(self.browser)
        close = QPushButton(t("window.close"))
        close.clicked.connect(self.accept)
        layout.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
