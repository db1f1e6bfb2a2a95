"""Retraining from a cohort-shaped CSV with the documented command."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from predictors import load_models
from predictors.train import shipped_cohort_digests

REPO_ROOT = Path(__file__).resolve().parents[2]


def train(*args):
    return subprocess.run([sys.executable, "-m", "predictors.train", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def export(tmp_path_factory, cohort_rows):
    """A small 'clinic export': both conditions in one file, columns in a new order."""
    cts = [r for r in cohort_rows if r["condition"] == "CTS"][:700]
    cmc = [r for r in cohort_rows if r["condition"] == "CMC1_OA"][:500]
    fields = sorted(dict.fromkeys(k for r in cts + cmc for k in r))
    path = tmp_path_factory.mktemp("export") / "clinic_export.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(cmc + cts)
    return path


@pytest.fixture(scope="module")
def trained(export, tmp_path_factory):
    output = tmp_path_factory.mktemp("models")
    result = train(export, "--output", output, "--no-compare")
    assert result.returncode == 0, result.stderr
    return output, result


def test_training_writes_models_and_cards(trained, export):
    output, _result = trained
    names = sorted(p.name for p in output.iterdir())
    assert names == ["cmc1_oa.card.json", "cmc1_oa.card.md", "cmc1_oa.model.json", "cmc1_oa.reference.npz",
                     "cts.card.json", "cts.card.md", "cts.model.json", "cts.reference.npz"]
    card = json.loads((output / "cts.card.json").read_text())
    assert card["condition"] == "CTS"
    assert card["synthetic"] is False and "warning" not in card  # not the shipped file: a clinic export
    assert card["data"]["n"] == 700 and card["data"]["n_train"] + card["data"]["n_test"] == 700
    assert card["data"]["sources"] == [export.name]
    assert card["data"]["period"]["from"] <= card["data"]["period"]["to"]
    for key in ("predictors", "outcomes", "method", "intended_use", "limitations", "libraries", "trained_at"):
        assert card[key]
    metrics = card["evaluation"]["metrics"]
    for arm in ("conservative", "surgery"):
        for outcome in ("pain", "function"):
            assert set(metrics[arm][outcome]) == {"month3", "month12", "relevant_improvement_12m"}
            assert 0 <= metrics[arm][outcome]["month12"]["coverage_80"] <= 1
        assert "day42" in metrics[arm]["return_to_work"]
    assert "auc" in metrics["conservative"]["surgery_within_12m"]
    markdown = (output / "cts.card.md").read_text()
    assert "Held-out performance" in markdown and "SHA-256" in markdown


def test_retrained_models_load_and_predict(trained, cohort_rows):
    output, _ = trained
    models = load_models(output)
    assert models.conditions == ("CMC1_OA", "CTS")
    prediction = models.predict(cohort_rows[-1])
    assert prediction.synthetic is False
    assert prediction.model_version == models.card(prediction.condition)["version"]


def test_synthetic_flag_marks_the_card(export, tmp_path):
    result = train(export, "--output", tmp_path, "--no-compare", "--synthetic", "--condition", "CMC1_OA")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "cmc1_oa.card.json").read_text())
    assert card["synthetic"] is True
    assert card["warning"]["nl"] == "synthetische referentiedata — niet voor klinisch gebruik"
    assert not (tmp_path / "cts.card.json").exists()
    assert load_models(tmp_path).predict({"condition": "CMC1_OA"}).synthetic is True


def test_shipped_cohorts_are_recognised_as_synthetic():
    import hashlib

    import resources

    digests = shipped_cohort_digests()
    for name in ("cohort_cts.csv", "cohort_cmc1.csv"):
        assert hashlib.sha256(resources.path("cohorts", name).read_bytes()).hexdigest() in digests


def test_invalid_rows_stop_training_with_line_numbers(tmp_path, cohort_rows):
    rows = [dict(r) for r in cohort_rows if r["condition"] == "CTS"][:60]
    rows[3]["age"] = "abc"
    rows[10]["treatment"] = "acupuncture"
    path = tmp_path / "bad.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = train(path, "--output", tmp_path / "out")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "line 5, age" in result.stderr and "line 12, treatment" in result.stderr
    assert not (tmp_path / "out").exists()


def test_too_small_export_is_refused_clearly(tmp_path, cohort_rows):
    rows = [r for r in cohort_rows if r["condition"] == "CTS"][:40]
    path = tmp_path / "tiny.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = train(path, "--output", tmp_path / "out")
    assert result.returncode == 2 and "too few patients" in result.stderr and "Traceback" not in result.stderr
