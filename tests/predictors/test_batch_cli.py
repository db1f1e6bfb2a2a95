"""`python -m predictors.batch` end to end, as a subprocess."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from predictors.model import column_names

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def run_batch(*args):
    return subprocess.run([sys.executable, "-m", "predictors.batch", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def write_csv(path, rows):
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


@pytest.fixture
def mixed_rows(cohort_rows):
    cts = [r for r in cohort_rows if r["condition"] == "CTS"][:150]
    cmc = [r for r in cohort_rows if r["condition"] == "CMC1_OA"][:150]
    return [dict(r, extra_column="ignored") for pair in zip(cts, cmc) for r in pair]  # outcomes kept too


def test_mixed_file_gives_one_row_per_patient(tmp_path, mixed_rows):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, mixed_rows)
    result = run_batch(source, target)
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(target)
    assert header == ["patient_id"] + column_names()
    assert header[1:4] == ["conservative_pain3_mean", "conservative_pain3_p10", "conservative_pain3_p90"]
    assert header[-1] == "conservative_surgery12m_prob"
    assert [r["patient_id"] for r in rows] == [r["patient_id"] for r in mixed_rows]
    for source_row, row in zip(mixed_rows, rows):
        employed = source_row["work_status"] in ("office", "physical")
        for arm in ("conservative", "surgery"):
            rtw = [row[f"{arm}_rtw6w_prob"], row[f"{arm}_rtw12w_prob"]]
            if employed:
                assert all(v != "" for v in rtw)
                assert 0 <= float(rtw[0]) <= float(rtw[1]) <= 1
            else:
                assert rtw == ["", ""] and row[f"{arm}_rtw_median_days"] == ""
            for outcome in ("pain", "function"):
                for month in (3, 12):
                    low, mean, high = (float(row[f"{arm}_{outcome}{month}_{s}"]) for s in ("p10", "mean", "p90"))
                    assert low <= mean <= high
        assert 0 <= float(row["conservative_surgery12m_prob"]) <= 1


def test_batch_agrees_with_the_api(tmp_path, mixed_rows, shipped):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, mixed_rows[:20])
    assert run_batch(source, target).returncode == 0
    _, rows = read_csv(target)
    for source_row, row in zip(mixed_rows[:20], rows):
        prediction = shipped.predict(source_row)
        assert float(row["surgery_pain12_mean"]) == pytest.approx(prediction.surgery.pain.month12.mean, abs=1e-4)
        assert float(row["conservative_function_mcid_prob"]) == pytest.approx(
            prediction.conservative.function.improvement_probability, abs=1e-4)


def test_bad_rows_are_reported_by_line_and_field_and_skipped(tmp_path, mixed_rows):
    rows = [dict(r) for r in mixed_rows[:10]]
    rows[2]["age"] = "abc"            # file line 4
    rows[5]["work_status"] = "astronaut"  # file line 7
    rows[7]["patient_id"] = rows[6]["patient_id"]  # duplicate, file line 9
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, rows)
    result = run_batch(source, target)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "line 4, age" in result.stderr
    assert "line 7, work_status" in result.stderr and "office, physical" in result.stderr
    assert "line 9, patient_id" in result.stderr and "duplicate" in result.stderr
    assert "abc" not in result.stderr and "astronaut" not in result.stderr
    _, written = read_csv(target)
    assert len(written) == 7


def test_unusable_input_exits_2_without_traceback(tmp_path):
    missing = run_batch(tmp_path / "nope.csv", tmp_path / "out.csv")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "nope.csv" in missing.stderr
    no_condition = tmp_path / "bad.csv"
    no_condition.write_text("patient_id,age\nX1,50\n")
    result = run_batch(no_condition, tmp_path / "out.csv")
    assert result.returncode == 2 and "condition" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_missing_columns_are_treated_as_unknown(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("patient_id,condition,age,work_status\nA,CTS,61,retired\nB,CMC1_OA,,office\n")
    result = run_batch(source, target)
    assert result.returncode == 0, result.stderr
    _, rows = read_csv(target)
    assert rows[0]["surgery_rtw6w_prob"] == "" and rows[1]["surgery_rtw6w_prob"] != ""
