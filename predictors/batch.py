"""Batch predictions: a CSV of patients in, one row of predictions per patient out.

    python -m predictors.batch INPUT.csv OUTPUT.csv [--models DIR]

INPUT has the cohort's baseline columns (`patient_id` and `condition` required; others
may be empty or absent = unknown); extra columns, including outcome columns of a
cohort export, are ignored. CTS and CMC1_OA rows may be mixed. OUTPUT has `patient_id`
and then, for ARM in conservative and surgery, the columns of `model.column_names()`
(`ARM_pain3_mean` … `ARM_rtw_median_days`) and `conservative_surgery12m_prob`;
return-to-work columns are empty for patients who are not employed (or whose work
status is unknown), and a median beyond the reference follow-up is empty too.

Bad rows are reported on stderr as `fout: FILE line N, FIELD: problem` and skipped; the
other rows are still predicted and written, and the exit code is 1. This mirrors
`bundelassistent register --jsonl`: in a re-validation or research export, one mistyped
row should not cost the other ten thousand, but the non-zero exit makes sure nobody
mistakes a partial output for a complete one. Exit code 2 means the input could not be
used at all (file missing, no `patient_id`/`condition` column, models not loadable).
Messages never echo a cell's value, which may be an identifier.

Prediction is vectorised per condition, so 10,000 rows take about a second.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from predictors import store
from predictors.api import load_models
from predictors.model import column_names, rounded
from predictors.schema import CONDITIONS, PatientValueError, baseline_columns, is_missing, parse_patient

REQUIRED = ("patient_id", "condition")


class BatchInputError(Exception):
    """The input file cannot be used at all."""


def run(input_path: Path, output_path: Path, models_dir: Path | None = None, err=sys.stderr) -> int:
    try:
        models = load_models(models_dir)
    except store.ModelFileError as error:
        print(f"fout: {error}", file=err)
        return 2
    try:
        rows, problems = read_input(input_path)
    except BatchInputError as error:
        print(f"fout: {error}", file=err)
        return 2
    for line, field, message in problems:
        print(f"fout: {input_path.name} line {line}, {field}: {message}", file=err)
    by_condition: dict[str, list[int]] = {}
    for index, (_, _, condition, _) in enumerate(rows):
        by_condition.setdefault(condition, []).append(index)
    results: list[dict | None] = [None] * len(rows)
    for condition, indices in by_condition.items():
        if condition not in models.conditions:
            for i in indices:
                print(f"fout: {input_path.name} line {rows[i][0]}, condition: no model for this condition", file=err)
            problems.extend((rows[i][0], "condition", "no model") for i in indices)
            continue
        columns = models.predict_columns(condition, [rows[i][3] for i in indices])
        for position, i in enumerate(indices):
            results[i] = {name: columns[name][position] for name in column_names()}
    header = ["patient_id"] + column_names()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    written = 0
    for (_, patient_id, _, _), result in zip(rows, results):
        if result is None:
            continue
        writer.writerow([patient_id] + [_format(result[name]) for name in column_names()])
        written += 1
    store.write_atomic(output_path, buffer.getvalue().encode("utf-8"))
    skipped = len(problems)
    print(f"{written} patients predicted, {skipped} rows skipped -> {output_path}", file=err)
    return 1 if skipped else 0


def read_input(path: Path):
    """Parsed rows (line, patient_id, condition, values) and problems (line, field, message)."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed by `with handle` below
    except OSError as error:
        raise BatchInputError(f"{path}: {error.strerror or error}") from None
    rows, problems = [], []
    seen: dict[str, int] = {}  # patient_id -> the line it was first on
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
        except (csv.Error, UnicodeDecodeError) as error:
            raise BatchInputError(f"{path.name}: not a readable CSV file ({error})") from None
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise BatchInputError(f"{path.name}: required column(s) missing: {', '.join(missing)}")
        absent = sorted({c.name for cond in CONDITIONS for c in baseline_columns(cond)} - set(header))
        if absent:
            print(f"waarschuwing: {path.name}: column(s) absent, treated as unknown: {', '.join(absent)}",
                  file=sys.stderr)
        try:
            for row in reader:
                line = reader.line_num
                patient_id = (row.get("patient_id") or "").strip()
                if is_missing(patient_id):
                    problems.append((line, "patient_id", "missing"))
                    continue
                if patient_id in seen:
                    problems.append((line, "patient_id", f"duplicate of line {seen[patient_id]}; one row per patient"))
                    continue
                try:
                    condition, values = parse_patient(row)
                except PatientValueError as error:
                    problems.append((line, error.field, error.en))
                    continue
                seen[patient_id] = line
                rows.append((line, patient_id, condition, values))
        except (csv.Error, UnicodeDecodeError) as error:
            raise BatchInputError(f"{path.name}: not a readable CSV file ({error})") from None
    return rows, problems


def _format(value) -> str:
    number = rounded(value)
    return "" if number is None else f"{number:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m predictors.batch",
                                     description="Predict both treatment options for every patient in a CSV.")
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--models", type=Path, default=None, help="models folder (default: installed models)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return run(args.input, args.output, args.models)


if __name__ == "__main__":
    sys.exit(main())
