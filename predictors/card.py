"""Model cards: what a model was trained on, how well it did, and what it is not for.

One JSON card per condition (read by the app and by `load_models`, which takes the file
checksums from it) and a Markdown rendering of the same content for people. A card for
models trained on the shipped synthetic cohort says so at the top, in Dutch and English.
"""

from __future__ import annotations

import platform
from typing import Any

from predictors.influence import PERSONAL_SHARE
from predictors.model import FOLLOW_UP, OUTCOMES, instrument
from predictors.schema import OPTIONS, baseline_columns

SYNTHETIC_WARNING = {
    "nl": "synthetische referentiedata — niet voor klinisch gebruik",
    "en": "synthetic reference data — not for clinical use",
}
CONDITION_NAMES = {"CTS": "carpal tunnel syndrome (CTS)", "CMC1_OA": "thumb-base (CMC1) osteoarthritis"}


def library_versions() -> dict[str, str]:
    import numpy
    import scipy
    import sklearn

    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__}


def method_text(condition: str) -> dict[str, str]:
    pain, function = instrument(condition, "pain"), instrument(condition, "function")
    return {
        "scores": (
            f"{pain.name} and {function.name} at 3 and 12 months: censored-normal (Tobit-type) "
            "regression per treatment option, fitted by penalised maximum likelihood on every "
            "baseline predictor; each recorded score is the interval of latent values that round "
            "to it, and scores at the floor/ceiling are censored. Mean = expected recorded score; "
            "80% range = 10th-90th percentile of the predicted distribution, clipped to the scale."
        ),
        "relevant_improvement": (
            "Probability of a relevant improvement at 12 months from the same 12-month distribution "
            f"({pain.improvement_text}; {function.improvement_text})."
        ),
        "return_to_work": (
            "Employed patients (office or physical work): logistic model for never stopping work plus "
            "a log-normal accelerated-failure-time model for days off work among those who stopped, "
            "fitted by maximum likelihood with right-censoring (rtw_event 0 = still off work on "
            "rtw_days). Back within 6/12 weeks = by day 42/84; median unknown beyond follow-up."
        ),
        "surgery_within_12m": "Conservative option: logistic regression on every baseline predictor.",
        "missing_predictors": (
            "Unknown predictors (in training and at prediction time) are replaced by their conditional "
            "mean given the known ones (joint Gaussian of the encoded predictors); the imputation "
            "uncertainty widens ranges and flattens probabilities. No missing-indicators: they did not "
            "improve cross-validated fit and would tie the models to this clinic's reasons for empty fields."
        ),
        "untaken_option": (
            "Models are fitted per option; with treatment choice and non-response depending only on "
            "the recorded baseline columns, they predict both options for every patient. Predictions "
            "for an option rarely chosen by similar patients (propensity < 5% or > 95%) carry a note."
        ),
        "similar_patients": (
            "Nearest reference patients with the same option (weighted standardised distance on "
            "age, sex, symptom duration, baseline pain/function and severity markers)."
        ),
        "personal_estimate": (
            "The app shows personal numbers only once the known inputs explain at least "
            f"{PERSONAL_SHARE:.0%} of the between-patient spread of each expected 12-month score (pain and "
            "function, both options): 1 - a_M' S_M|O a_M / a' S a, with a the score's coefficients, S the "
            "inputs' covariance in the reference and M the unknown inputs; below that it shows a general "
            "estimate for the diagnosis and names the inputs that would make it personal. Its input fields "
            "are ordered by how far each input moves the 12-month scores and return to work across its "
            "10th-90th percentile for this patient (predictors/influence.py)."
        ),
    }


def build_card(*, condition: str, synthetic: bool, version: str, trained_at: str, sources: list[str],
               meta: dict, n_train: int, n_test: int, skipped: int, missing: dict[str, float],
               metrics: dict, case_mix: dict, candidates: dict | None, files: dict[str, str],
               split_seed: int, test_fraction: float) -> dict[str, Any]:
    pain, function = instrument(condition, "pain"), instrument(condition, "function")
    card: dict[str, Any] = {
        "card_format": 1,
        "condition": condition,
        "title": f"Outcome predictions for {CONDITION_NAMES[condition]}: conservative treatment vs surgery",
        "synthetic": synthetic,
    }
    if synthetic:
        card["warning"] = SYNTHETIC_WARNING
    card.update({
        "version": version,
        "trained_at": trained_at,
        "data": {
            "sources": sources,
            "synthetic": synthetic,
            "period": {"from": meta["period"][0], "to": meta["period"][1]},
            "n": meta["n"],
            "n_by_option": meta["n_by_option"],
            "n_train": n_train,
            "n_test": n_test,
            "rows_skipped_invalid": skipped,
            "missing_fraction": missing,
        },
        "predictors": [c.name for c in baseline_columns(condition)],
        "not_used": {"side": "the affected side itself is not prognostic; dominant_hand_affected is used",
                     "inclusion_date": "a calendar-period effect would not carry over to new patients"},
        "outcomes": {
            "pain": f"{pain.name}, at 3 and 12 months (mean, 10th and 90th percentile)",
            "function": f"{function.name} ({'higher' if function.higher_is_better else 'lower'} is better), "
                        "at 3 and 12 months (mean, 10th and 90th percentile)",
            "relevant_improvement": [pain.improvement_text, function.improvement_text],
            "return_to_work": "employed patients: P(back by day 42), P(back by day 84), median days",
            "surgery_within_12m": "conservative option: P(surgery within 12 months)",
        },
        "method": method_text(condition),
        "evaluation": {
            "design": (f"random split stratified by option ({1 - test_fraction:.0%} train / {test_fraction:.0%} "
                       f"test, seed {split_seed}); the models were fitted on the train part and scored on the "
                       "test part, each option on the patients who took it; the shipped models were then "
                       "refitted on all patients with the same procedure. Return to work: IPCW for censoring."),
            "metrics": metrics,
            "case_mix_checks": case_mix,
            "candidates": candidates,
        },
        "overlap": {
            "propensity_surgery_range": meta["propensity_range"],
            "fraction_outside_5_95": meta["outside_overlap"],
        },
        "intended_use": (
            "Support for shared decision-making in the consultation of adults with "
            f"{CONDITION_NAMES[condition]} choosing between conservative treatment and surgery, in a "
            "hand & wrist clinic whose patients resemble the reference cohort. Shows what is expected "
            "for comparable patients under each option; it does not replace clinical judgement and is "
            "not meant for triage, indication setting or coverage decisions."
        ),
        "limitations": [
            "Assumes treatment choice and follow-up non-response depend only on recorded baseline "
            "columns; unrecorded reasons for choosing surgery would bias the comparison.",
            "Effects are linear in the predictors (symptom duration on a log scale); extrapolation "
            "outside the reference ranges is flagged but not prevented.",
            "Near the floor of a scale (pain 0, BCTQ 1) the 80% range includes the floor and "
            "covers more than 80%.",
            "Return to work only for employed patients; medians beyond the reference follow-up "
            "are reported as unknown.",
            "Unknown predictors are imputed: such predictions are less certain, and the app lists them.",
            "Another clinic's case mix or care pathway may change outcomes: re-validate on local data "
            "(python -m predictors.batch on an export, or retrain with python -m predictors.train).",
        ] + (["Trained on SYNTHETIC data: a demonstration, not for clinical use."] if synthetic else [
            "The reference trajectories in the model files are patient data: keep the files confidential."]),
        "libraries": library_versions(),
        "files": files,
    })
    return card


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_markdown(card: dict) -> str:
    lines = [f"# Model card — {card['title']}", ""]
    if card.get("synthetic"):
        warning = card["warning"]
        lines += [f"> **⚠ {warning['nl'].upper()}**  ", f"> **⚠ {warning['en'].upper()}**", ""]
    data = card["data"]
    lines += [
        f"- **Version:** {card['version']} (trained {card['trained_at']})",
        f"- **Data:** {', '.join(data['sources'])} — {'synthetic' if data['synthetic'] else 'clinic export'}; "
        f"inclusions {data['period']['from']} to {data['period']['to']}",
        f"- **Patients:** {data['n']} ({', '.join(f'{k} {v}' for k, v in data['n_by_option'].items())}); "
        f"held-out evaluation: {data['n_train']} train / {data['n_test']} test"
        + (f"; {data['rows_skipped_invalid']} invalid rows skipped" if data["rows_skipped_invalid"] else ""),
        f"- **Predictors:** {', '.join(card['predictors'])}",
        "- **Not used:** " + "; ".join(f"{k} ({v})" for k, v in card["not_used"].items()),
        "",
        "## Intended use", "", card["intended_use"], "",
        "## Outcomes and method", "",
    ]
    for key, text in card["method"].items():
        lines.append(f"- **{key.replace('_', ' ')}:** {text}")
    lines += ["", "## Held-out performance", "", card["evaluation"]["design"], ""]
    metrics = card["evaluation"]["metrics"]
    lines += ["### Scores (mean and 80% range)", "",
              "| option | outcome | month | n | RMSE | R² | calib. slope | calib. intercept | 80% coverage "
              "| mean width |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for arm in OPTIONS:
        for outcome in OUTCOMES:
            for month in FOLLOW_UP:
                m = metrics.get(arm, {}).get(outcome, {}).get(f"month{month}")
                if m:
                    lines.append(f"| {arm} | {outcome} | {month} | {m['n']} | {_fmt(m['rmse'])} | {_fmt(m['r2'])} | "
                                 f"{_fmt(m['calibration_slope'])} | {_fmt(m['calibration_intercept'])} | "
                                 f"{_fmt(m['coverage_80'])} | {_fmt(m['mean_width_80'])} |")
    lines += ["", "### Probabilities", "",
              "| option | outcome | n | observed | mean predicted | AUC | calib. intercept | calib. slope | Brier |",
              "|---|---|---|---|---|---|---|---|---|"]
    for arm in OPTIONS:
        section = metrics.get(arm, {})
        items = [(f"relevant improvement {o} (12 m)", section.get(o, {}).get("relevant_improvement_12m"))
                 for o in OUTCOMES]
        items.append(("surgery within 12 months", section.get("surgery_within_12m")))
        rtw = section.get("return_to_work") or {}
        items += [(f"back at work by day {d[3:]}", rtw.get(d)) for d in ("day42", "day84")]
        for name, m in items:
            if m:
                slope = _fmt(m["calibration_slope"], 2)
                if m.get("calibration_slope_se") is not None:
                    slope += f" ± {m['calibration_slope_se']:.2f}"
                lines.append(f"| {arm} | {name} | {m['n']} | {_fmt(m['observed'])} | {_fmt(m['mean_predicted'])} | "
                             f"{_fmt(m['auc'])} | {_fmt(m['calibration_intercept'])} | {slope} | {_fmt(m['brier'])} |")
        if rtw:
            lines.append(f"| {arm} | return to work: C-index {_fmt(rtw['c_index'])}, "
                         f"censored {rtw['censored']}/{rtw['n']}, "
                         f"median days observed (KM) {_fmt(rtw['median_days_observed'], 0)}, predicted (median of "
                         f"patients) {_fmt(rtw['median_days_predicted_median'], 1)} | | | | | | | |")
    lines += ["", "Return-to-work observed = Kaplan–Meier; AUC, calibration and Brier weighted by inverse "
              "probability of censoring. Calibration: intercept 0 and slope 1 are perfect; ± is the slope's "
              "standard error on this test set.", ""]
    case_mix = card["evaluation"].get("case_mix_checks") or {}
    if case_mix:
        lines += ["### Case-mix checks (held-out subsets)", "",
                  "| subset | item | n | 80% coverage / AUC | observed | predicted | calib. slope |",
                  "|---|---|---|---|---|---|---|"]
        for subset, content in case_mix.items():
            for item, m in content["metrics"].items():
                if "coverage_80" in m:
                    lines.append(f"| {subset} | {item} | {m['n']} | {_fmt(m['coverage_80'])} | "
                                 f"{_fmt(m['mean_observed'])} | "
                                 f"{_fmt(m['mean_predicted'])} | |")
                else:
                    lines.append(f"| {subset} | {item} | {m['n']} | {_fmt(m['auc'])} | {_fmt(m['observed'])} | "
                                 f"{_fmt(m['mean_predicted'])} | {_fmt(m['calibration_slope'])} |")
        lines.append("")
    candidates = card["evaluation"].get("candidates")
    if candidates:
        lines += ["### Candidates compared (same split)", "", "| item | model | result |", "|---|---|---|"]
        for item, rows in candidates.items():
            for name, result in rows.items():
                text = ", ".join(f"{k} {_fmt(v) if not isinstance(v, dict) else _inner(v)}" for k, v in result.items())
                lines.append(f"| {item} | {name} | {text} |")
        lines.append("")
    overlap = card["overlap"]
    lines += ["## Overlap", "",
              f"Estimated probability of choosing surgery ranges {overlap['propensity_surgery_range'][0]:.3f}–"
              f"{overlap['propensity_surgery_range'][1]:.3f}; {overlap['fraction_outside_5_95']:.1%} of the reference "
              "patients fall outside 5–95% (their untaken option carries a note).", "",
              "## Limitations", ""]
    lines += [f"- {text}" for text in card["limitations"]]
    lines += ["", "## Files and libraries", ""]
    lines += [f"- `{name}` SHA-256 `{digest}`" for name, digest in card["files"].items()]
    lines += [f"- {name} {version}" for name, version in card["libraries"].items()]
    return "\n".join(lines) + "\n"


def _inner(values: dict) -> str:
    return "(" + ", ".join(f"{k} {_fmt(v)}" for k, v in values.items()) + ")"
