"""Similar patients come from the same condition and option, nearest first, with a band."""

from __future__ import annotations

import math

import pytest

from predictors.schema import FUNCTION, MONTHS, PAIN


def trajectories_by_option(rows, condition):
    """{option: set of (pain tuple, function tuple)} straight from the cohort CSV."""
    def score(value):
        return None if value == "" else round(float(value), 3)

    result = {"conservative": set(), "surgery": set()}
    for row in rows:
        if row["condition"] != condition:
            continue
        pain = tuple(score(row[f"{PAIN[condition].column}_{m}"]) for m in MONTHS)
        function = tuple(score(row[f"{FUNCTION[condition].column}_{m}"]) for m in MONTHS)
        result[row["treatment"]].add((pain, function))
    return result


@pytest.mark.parametrize("condition", ["CTS", "CMC1_OA"])
@pytest.mark.parametrize("option", ["conservative", "surgery"])
def test_neighbours_are_reference_patients_with_that_option(shipped, cohort_rows, condition, option):
    known = trajectories_by_option(cohort_rows, condition)
    patient = next(r for r in cohort_rows if r["condition"] == condition)
    similar = shipped.similar_patients(patient, option, k=25)
    assert similar.option == option and similar.condition == condition
    assert similar.months == (0, 3, 6, 12)
    assert len(similar.trajectories) == 25
    distances = [t.distance for t in similar.trajectories]
    assert distances == sorted(distances)
    for trajectory in similar.trajectories:
        assert (trajectory.pain, trajectory.function) in known[option]


def test_a_reference_patient_finds_itself_first(shipped, cohort_rows):
    patient = next(r for r in cohort_rows if r["condition"] == "CTS" and r["treatment"] == "surgery"
                   and r["nrs_pain_12"] != "")
    nearest = shipped.similar_patients(patient, "surgery", k=5).trajectories[0]
    assert nearest.distance == pytest.approx(0.0, abs=1e-5)
    assert nearest.pain[3] == float(patient["nrs_pain_12"])
    assert nearest.function[0] == pytest.approx(float(patient["bctq_fss_0"]))


def test_band_summarises_the_neighbours(shipped, cohort_rows):
    patient = next(r for r in cohort_rows if r["condition"] == "CMC1_OA")
    similar = shipped.similar_patients(patient, "conservative", k=40)
    for band, attribute in ((similar.pain_band, "pain"), (similar.function_band, "function")):
        for month_index in range(4):
            values = [getattr(t, attribute)[month_index] for t in similar.trajectories
                      if getattr(t, attribute)[month_index] is not None]
            assert band.n[month_index] == len(values)
            if values:
                assert band.p10[month_index] <= band.median[month_index] <= band.p90[month_index]
                assert min(values) <= band.median[month_index] <= max(values)
    assert similar.pain_band.n[0] == 40  # baseline is always recorded


def test_missing_values_still_give_neighbours(shipped):
    similar = shipped.similar_patients({"condition": "CTS", "age": 60}, "surgery", k=10)
    assert len(similar.trajectories) == 10
    assert all(math.isfinite(t.distance) for t in similar.trajectories)
