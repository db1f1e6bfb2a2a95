"""Train the prediction models from cohort exports: one command, model files + cards out.

    python -m predictors.train resources/cohorts/cohort_cts.csv resources/cohorts/cohort_cmc1.csv \\
        --output resources/models

Patients are grouped by their `condition` column, so one file may hold both conditions.
Per condition: a stratified train/test split, fit on train, held-out evaluation (and the
candidate comparison), then a refit on all patients with the same procedure; the files
and the model card (JSON + Markdown, with SHA-256 checksums) go to `--output`.

`--synthetic` marks the card "synthetische referentiedata — niet voor klinisch gebruik";
without `--synthetic`/`--no-synthetic` the flag is set when an input file is one of the
shipped synthetic cohorts (same SHA-256 as a file in resources/cohorts). A clinic's real
export retrains with the same command. Invalid rows stop training (listed with line and
column) unless `--skip-invalid` is given; the card records how many were skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from pathlib import Path

import numpy as np

import resources
from predictors import card as cards
from predictors import store
from predictors.cohort import Cohort, CohortError, read_cohorts
from predictors.model import ConditionModel
from predictors.schema import OPTIONS, baseline_columns
from predictors.validation import case_mix_checks, compare_candidates, validate

DEFAULT_SEED = 20240611
DEFAULT_TEST_FRACTION = 0.25


def shipped_cohort_digests() -> set[str]:
    folder = resources.path("cohorts")
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.csv")} if folder.exists() else set()


def split(cohort: Cohort, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test indices, stratified by treatment option."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for arm in OPTIONS:
        members = np.flatnonzero(cohort.treatment == arm)
        members = members[rng.permutation(len(members))]
        cut = int(round(len(members) * test_fraction))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def missing_fractions(cohort: Cohort) -> dict[str, float]:
    result = {}
    for column in baseline_columns(cohort.condition):
        fraction = float(np.mean([b.get(column.name) is None for b in cohort.baseline]))
        if fraction > 0:
            result[column.name] = round(fraction, 4)
    return result


def train_condition(cohort: Cohort, output: Path, synthetic: bool, test_fraction: float = DEFAULT_TEST_FRACTION,
                    seed: int = DEFAULT_SEED, compare: bool = True, log=print) -> dict:
    """Fit, validate, refit on all and write one condition's files; returns the card."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only contend
        return _train_condition(cohort, output, synthetic, test_fraction, seed, compare, log)


def _train_condition(cohort, output, synthetic, test_fraction, seed, compare, log) -> dict:
    condition = cohort.condition
    train_index, test_index = split(cohort, test_fraction, seed)
    train, test = cohort.subset(train_index), cohort.subset(test_index)
    log(f"{condition}: {len(cohort)} patients ({len(train)} train / {len(test)} test)")
    held_out = ConditionModel.fit(train, with_reference=False)
    metrics = validate(held_out, test)
    case_mix = case_mix_checks(held_out, test)
    candidates = compare_candidates(train, test, held_out) if compare else None
    final = ConditionModel.fit(cohort)
    contents = store.model_bytes(final)
    files = {name: store.sha256(data) for name, data in contents.items()}
    names = store.file_names(condition)
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    version = f"{trained_at[:10]}-{files[names['model']][:12]}"
    card = cards.build_card(
        condition=condition, synthetic=synthetic, version=version, trained_at=trained_at,
        sources=cohort.sources, meta=final.meta, n_train=len(train), n_test=len(test),
        skipped=len(cohort.skipped), missing=missing_fractions(cohort), metrics=metrics,
        case_mix=case_mix, candidates=candidates, files=files, split_seed=seed,
        test_fraction=test_fraction)
    for name, data in contents.items():
        store.write_atomic(output / name, data)
    import json

    store.write_atomic(output / names["card_markdown"], cards.render_markdown(card).encode("utf-8"))
    store.write_atomic(output / names["card"], json.dumps(card, indent=1, ensure_ascii=False).encode("utf-8"))
    log(summary(card))
    return card


def summary(card: dict) -> str:
    """A few key held-out numbers for the console."""
    lines = [f"  {card['condition']} {'(SYNTHETIC) ' if card['synthetic'] else ''}version {card['version']}"]
    metrics = card["evaluation"]["metrics"]
    for arm in OPTIONS:
        section = metrics.get(arm, {})
        parts = []
        for outcome in ("pain", "function"):
            m12 = section.get(outcome, {}).get("month12")
            imp = section.get(outcome, {}).get("relevant_improvement_12m")
            if m12:
                parts.append(f"{outcome}12 R² {m12['r2']:.2f} cov80 {m12['coverage_80']:.2f}")
            if imp and imp["auc"] is not None:
                parts.append(f"{outcome} MCID AUC {imp['auc']:.2f} slope {imp['calibration_slope']:.2f}")
        rtw = section.get("return_to_work")
        if rtw and rtw["day42"]["auc"] is not None:
            parts.append(f"RTW6w AUC {rtw['day42']['auc']:.2f}")
        surgery = section.get("surgery_within_12m")
        if surgery:
            parts.append(f"surgery12m AUC {surgery['auc']:.2f}")
        lines.append(f"    {arm}: " + "; ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m predictors.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("cohorts", nargs="+", type=Path, help="cohort CSV export(s)")
    parser.add_argument("--output", type=Path, default=resources.path("models"), help="models folder")
    flag = parser.add_mutually_exclusive_group()
    flag.add_argument("--synthetic", dest="synthetic", action="store_true", default=None,
                      help="mark the models as trained on synthetic data (not for clinical use)")
    flag.add_argument("--no-synthetic", dest="synthetic", action="store_false",
                      help="real clinic data, even if a file matches a shipped synthetic cohort")
    parser.add_argument("--condition", action="append", help="only this condition (repeatable)")
    parser.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--skip-invalid", action="store_true", help="skip invalid rows instead of stopping")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the candidate comparison (faster)")
    args = parser.parse_args(argv)
    if not 0.05 <= args.test_fraction <= 0.5:
        parser.error("--test-fraction must be between 0.05 and 0.5")
    try:
        for path in args.cohorts:
            if not path.is_file():
                raise CohortError(f"{path}: no such file")
        cohorts = read_cohorts(args.cohorts, skip_invalid=args.skip_invalid)
        if args.condition:
            wanted = {c.upper() for c in args.condition}
            cohorts = {k: v for k, v in cohorts.items() if k.upper() in wanted}
        if not cohorts:
            raise CohortError("no patients for any condition in the input")
        shipped = shipped_cohort_digests()
        for _condition, cohort in sorted(cohorts.items()):
            synthetic = args.synthetic
            if synthetic is None:
                synthetic = any(hashlib.sha256(p.read_bytes()).hexdigest() in shipped
                                for p in args.cohorts if p.name in cohort.sources)
            train_condition(cohort, args.output, synthetic, args.test_fraction, args.seed, args.compare)
    except CohortError as error:
        print(f"fout: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"fout: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
