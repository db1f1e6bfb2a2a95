"""`bundelassistent predict --json` on a real device register against the real server process.

The patient's intake questionnaire comes from the server (imported from a PROM platform's
FHIR export), what the CASE types over it wins and is marked `entered`, the rest is
`estimated`; offline the encrypted cache answers. The numbers agree to the last digit with
`python -m predictors.batch` run as its own process on the same inputs, and bad input is
`fout: …` naming the field by its label, exit 2, never the BSN.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import intake_exports as fx
from desktop.core.decision_support import PREDICTION_COLUMNS
from helpers import REPO
from test_device_intake import Device

A, A_BORN = "111222333", "1971-06-02"
B, B_BORN = "123456782", "1980-02-29"
CTS_COLUMNS = ("age", "sex", "bmi", "diabetes", "smoker", "work_status", "symptom_duration_months",
               "dominant_hand_affected", "bilateral", "pcs", "phq4", "expectation", "prior_injection", "nrs_pain_0",
               "ncs_severity", "thenar_atrophy", "night_symptoms", "bctq_sss_0", "bctq_fss_0")


def export() -> dict:
    """A answered on 1 March (pain 6, PCS 26, PHQ-4 2, office work, BCTQ symptoms 3); B too, other answers."""
    a, b = fx.patient("1001", A, A_BORN), fx.patient("1002", B, B_BORN)
    a1 = fx.response("tok-a1", fx.gems_reference("1001"), "2025-03-01T08:30:00+01:00", {
        "nrs_pain_0": 6, "work_status": ("office", "Kantoorwerk"), **fx.bctq("pcs_q", [2] * 13),
        **fx.bctq("phq4_q", [1, 1, 0, 0]), **fx.bctq("bctq_sss_q", [3] * 11)})
    b1 = fx.response("tok-b1", fx.gems_reference("1002"), "2025-02-20T14:00:00+01:00", {
        "nrs_pain_0": 2, **fx.bctq("bctq_fss_q", [4] * 8)})
    return fx.searchset(("match", a1), ("include", a), ("match", b1), ("include", b))


@pytest.fixture
def server(tmp_path):
    process = fx.serving(tmp_path, export())
    yield process
    process.stop()


def predict(device: Device, case: dict, tmp_path: Path) -> dict:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    result = device.run("predict", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert A not in result.stdout + result.stderr and B not in result.stdout + result.stderr
    return json.loads(result.stdout)


def batch(tmp_path: Path, rows: list[dict]) -> dict[str, dict[str, str]]:
    """`python -m predictors.batch` as its own process: {patient_id: {column: cell}}."""
    source, target = tmp_path / "batch-in.csv", tmp_path / "batch-out.csv"
    header = ["patient_id", "condition", *CTS_COLUMNS]
    with source.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        writer.writerows(rows)
    done = subprocess.run([sys.executable, "-m", "predictors.batch", str(source), str(target)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with target.open(newline="", encoding="utf-8") as file:
        return {row["patient_id"]: row for row in csv.DictReader(file)}


def batch_row(patient_id: str, answer: dict) -> dict:
    """The inputs `predict --json` says it used, as a batch CSV row (estimated ones left empty)."""
    return {"patient_id": patient_id, "condition": "CTS",
            **{name: "" if item["value"] is None else item["value"] for name, item in answer["inputs"].items()}}


def test_questionnaire_corrections_and_estimates_and_the_numbers_of_the_batch(server, tmp_path):
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    case = {"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "side": "R", "inclusion_date": "2025-03-14",
            "intake": {"nrs_pain_0": 8, "sex": "vrouw", "work_status": "office"}}
    answer = predict(device, case, tmp_path)
    assert set(answer) == {"model_version", "computed_at", "questionnaire_completed_at", "inputs", "predictions"}
    assert answer["model_version"] == json.loads((REPO / "resources/models/cts.card.json").read_text())["version"]
    assert answer["questionnaire_completed_at"] == "2025-03-01T07:30:00.000Z"  # 08:30 in Amsterdam
    inputs = answer["inputs"]
    assert list(inputs) == list(CTS_COLUMNS)
    assert inputs["age"] == {"value": 53.0, "source": "entered"}  # from the birth date, on the consultation date
    assert inputs["nrs_pain_0"] == {"value": 8.0, "source": "entered"}  # typed over the questionnaire's 6
    assert inputs["sex"] == {"value": "F", "source": "entered"}
    assert inputs["work_status"] == {"value": "office", "source": "questionnaire"}  # typed the same as answered
    assert inputs["pcs"] == {"value": 26.0, "source": "questionnaire"}
    assert inputs["phq4"] == {"value": 2.0, "source": "questionnaire"}
    assert inputs["bctq_sss_0"] == {"value": 3.0, "source": "questionnaire"}
    estimated = {name for name, item in inputs.items() if item["source"] == "estimated"}
    assert estimated == set(CTS_COLUMNS) - {"age", "nrs_pain_0", "sex", "work_status", "pcs", "phq4", "bctq_sss_0"}
    assert all(inputs[name]["value"] is None for name in estimated)
    assert list(answer["predictions"]) == list(PREDICTION_COLUMNS)

    # B has no corrections; with side "both", both hands count as affected
    other = predict(device, {"bsn": B, "birth_date": B_BORN, "diagnosis": "G56.0", "side": "both",
                             "inclusion_date": "2025-03-14"}, tmp_path)
    assert other["inputs"]["bilateral"] == {"value": 1.0, "source": "entered"}
    assert other["inputs"]["bctq_fss_0"] == {"value": 4.0, "source": "questionnaire"}
    assert other["predictions"] != answer["predictions"]

    cells = batch(tmp_path, [batch_row("a", answer), batch_row("b", other)])
    with (tmp_path / "batch-out.csv").open(encoding="utf-8") as file:
        assert file.readline().strip().split(",") == ["patient_id", *PREDICTION_COLUMNS]
    for patient_id, predicted in (("a", answer), ("b", other)):
        for name, value in predicted["predictions"].items():
            written = cells[patient_id][name]
            assert written == ("" if value is None else f"{value:.4f}"), (patient_id, name)
    employed = answer["predictions"]["surgery_rtw6w_prob"]
    assert employed is not None and 0 < employed < 1  # office work: return-to-work is predicted
    assert other["predictions"]["surgery_rtw6w_prob"] is None  # work unknown: no return to work


def test_offline_the_cache_answers_and_without_either_everything_but_the_age_is_estimated(server, tmp_path):
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    case = {"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "inclusion_date": "2025-03-14"}
    online = predict(device, case, tmp_path)
    server.stop()
    offline = predict(device, case, tmp_path)
    assert offline["inputs"] == online["inputs"] and offline["predictions"] == online["predictions"]
    assert offline["inputs"]["pcs"]["source"] == "questionnaire"
    unknown = predict(device, {**case, "birth_date": "1971-06-03"}, tmp_path)  # not this patient's birth date
    assert unknown["questionnaire_completed_at"] is None
    assert {name for name, item in unknown["inputs"].items() if item["source"] != "estimated"} == {"age"}


def test_bad_input_names_the_field_by_its_label_and_exits_2(tmp_path):
    device = Device(tmp_path)
    path = tmp_path / "case.json"
    for case, expected in [
        ({"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "intake": {"nrs_pain_0": 11}},
         ["Pijn nu (NRS 0–10)", "buiten bereik"]),
        ({"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "intake": {"sex": "x", "eaton_stage": 2}},
         ["Geslacht", "intake.eaton_stage", "onbekende invoer"]),
        ({"bsn": A, "birth_date": A_BORN, "diagnosis": "M18.1", "intake": {"thenar_atrophy": 1}},
         ["intake.thenar_atrophy"]),  # a CTS input for thumb-base osteoarthritis
        ({"bsn": A, "diagnosis": "G56.0", "side": "boven"}, ["Geboortedatum", "ontbreekt", "Zijde"]),
        ({"bsn": "111222334", "birth_date": A_BORN, "diagnosis": "G56.0"}, ["BSN", "11-proef"]),
        ({"bsn": A, "birth_date": A_BORN, "diagnosis": "I63.9", "bundle": "stroke-chain"}, ["geen voorspellingen"]),
        ({"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "intake": [7]}, ["intake", "moet een object"]),
        ({"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "pain": 7}, ["pain", "onbekend veld"]),
    ]:
        path.write_text(json.dumps(case), encoding="utf-8")
        result = device.run("predict", "--json", str(path))
        assert result.returncode == 2 and result.stdout == "", (case, result.stdout)
        assert result.stderr.startswith("fout: case.json: "), result.stderr
        for part in expected:
            assert part in result.stderr, (part, result.stderr)
        assert A not in result.stderr
    path.write_text("{niet json", encoding="utf-8")
    result = device.run("predict", "--json", str(path))
    assert result.returncode == 2 and result.stderr.startswith("fout: case.json")
