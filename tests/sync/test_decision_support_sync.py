"""The decision shown is recorded: a device keeps it with the inclusion, the real server (SQLite and
PostgreSQL) takes it after checking its shape itself, and exports it — FHIR RiskAssessments per
option linked to the EpisodeOfCare, the main probabilities in the research CSV. Records without
it (a device of the previous version) sync and stay unchanged as before.
"""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

import intake_exports as fx
from serverproc import query, record
from test_device_intake import Device

A, A_BORN = "111222333", "1971-06-02"
B = "123456782"


def line(bsn: str, **changes) -> dict:
    base = {"bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": A_BORN, "diagnosis": "G56.0",
            "side": "R", "insurer_uzovi": "3311", "bsn": bsn, "clinician_agb": "01234567", "location": "Utrecht",
            "explained_by": "SUO Bakker", "agreed": True}
    return base | changes


def intake_file(tmp_path):
    a = fx.patient("1001", A, A_BORN)
    answers = fx.response("tok-a1", fx.gems_reference("1001"), "2025-03-01T08:30:00+01:00", {
        "nrs_pain_0": 6, "work_status": ("office", "Kantoorwerk"), **fx.bctq("pcs_q", [2] * 13)})
    return fx.write(tmp_path / "intake.json", fx.searchset(("match", answers), ("include", a)))


def run_ok(device: Device, *args: str) -> str:
    result = device.run(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert A not in result.stderr and B not in result.stderr
    return result.stdout


def test_registered_synced_and_exported_as_it_was_shown(server, tmp_path):
    server.admin("import-intake", str(intake_file(tmp_path)))
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps(line(A, initial_treatment="surgery", intake={"nrs_pain_0": 8})) + "\n"
                     + json.dumps(line(B, diagnosis="M18.1", birth_date="1980-02-29")) + "\n", encoding="utf-8")
    first, second = run_ok(device, "register", "--jsonl", str(lines)).split()
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"bsn": A, "birth_date": A_BORN, "diagnosis": "G56.0", "side": "R",
                                "inclusion_date": "2025-03-14", "intake": {"nrs_pain_0": 8}}), encoding="utf-8")
    predicted = json.loads(run_ok(device, "predict", "--json", str(case)))

    listed = {item["id"]: item for item in json.loads(run_ok(device, "inclusions", "--json"))}
    kept = listed[first]["decision_support"]
    assert listed[second]["decision_support"] is None  # registered without intake: nothing was shown
    assert listed[first]["initial_treatment"] == "surgery"
    assert kept["inputs"] == predicted["inputs"] and kept["predictions"] == predicted["predictions"]
    assert kept["inputs"]["nrs_pain_0"] == {"value": 8.0, "source": "entered"}
    assert kept["inputs"]["pcs"] == {"value": 26.0, "source": "questionnaire"}
    assert kept["questionnaire_completed_at"] == "2025-03-01T07:30:00.000Z"

    run_ok(device, "sync", "--once")
    (stored,) = query(server.database_url, f"SELECT decision_support FROM inclusions WHERE id = '{first}'")
    assert json.loads(stored[0]) == kept
    assert query(server.database_url, f"SELECT decision_support FROM inclusions WHERE id = '{second}'") == [(None,)]

    research = list(csv.DictReader(io.StringIO(server.admin("export", "--profile", "research").stdout.lstrip("\ufeff")),
                                   delimiter=";"))
    by_treatment = {row["initial_treatment"]: row for row in research}
    with_support, without = by_treatment["surgery"], by_treatment[""]
    assert with_support["prediction_model_version"] == kept["model_version"]
    for name in ("surgery_pain_mcid_prob", "conservative_function_mcid_prob", "conservative_surgery12m_prob",
                 "surgery_rtw6w_prob"):
        assert with_support[name] == f"{kept['predictions'][name]:.4f}", name
    assert without["prediction_model_version"] == "" and without["surgery_pain_mcid_prob"] == ""

    bundle = json.loads(server.admin("export", "--format", "fhir").stdout)  # validated before it is written
    resources = [entry["resource"] for entry in bundle["entry"]]
    assessments = [r for r in resources if r["resourceType"] == "RiskAssessment"]
    assert len(assessments) == 2  # both options of the one inclusion that kept decision support
    episode = next(r for r in resources if r["resourceType"] == "EpisodeOfCare" and r["id"] == first)
    full_url = {entry["resource"]["id"]: entry["fullUrl"] for entry in bundle["entry"]}
    by_option = {}
    for assessment in assessments:
        assert assessment["basis"] == [{"reference": full_url[episode["id"]]}]
        assert assessment["subject"] == episode["patient"]
        assert assessment["occurrenceDateTime"] == kept["computed_at"]
        assert assessment["method"]["coding"][0]["code"] == kept["model_version"]
        option = "surgery" if "operatie" in assessment["code"]["text"] else "conservative"
        by_option[option] = assessment
    surgery = {p["outcome"]["text"]: p["probabilityDecimal"] for p in by_option["surgery"]["prediction"]}
    assert surgery["klinisch relevante verbetering van pijn na 12 maanden"] == kept["predictions"][
        "surgery_pain_mcid_prob"]
    assert surgery["weer aan het werk binnen 6 weken"] == kept["predictions"]["surgery_rtw6w_prob"]
    conservative = {p["outcome"]["text"]: p["probabilityDecimal"] for p in by_option["conservative"]["prediction"]}
    assert conservative["toch een operatie binnen 12 maanden"] == kept["predictions"]["conservative_surgery12m_prob"]
    assert "toch een operatie binnen 12 maanden" not in surgery
    assert by_option["surgery"]["note"][0]["text"] == "gekozen als eerste behandeling: operatie"
    assert all("gekozen" not in note["text"] for note in by_option["conservative"].get("note", []))


def shown_support() -> dict:
    from desktop.operations.prediction import decision_support
    from predictors import load_models

    patient = {"condition": "CTS", "age": 54, "nrs_pain_0": 7, "work_status": "office"}
    return decision_support(load_models().predict(patient), patient, {}, None)


def test_the_server_checks_the_shape_itself_and_records_without_it_stay_as_they_were(server):
    device = server.enroll("kamer")
    support = shown_support()
    good = record(A, decision_support=support)
    old = record(B)  # as a device of the previous version sends it: no decision_support key
    assert "decision_support" not in old
    tampered = [
        record(A, id=str(uuid.uuid4()), decision_support=support | {"extra": 1}),
        record(A, id=str(uuid.uuid4()), decision_support=support | {
            "predictions": support["predictions"] | {"surgery_pain_mcid_prob": 1.5}}),
        record(A, id=str(uuid.uuid4()), decision_support=support | {"model_version": "v" * 101}),
        record(A, id=str(uuid.uuid4()), decision_support=support | {
            "inputs": support["inputs"] | {"ssn": {"value": 1, "source": "entered"}}}),
        record(A, id=str(uuid.uuid4()), condition="CMC1_OA", diagnosis="M18.1", decision_support=support | {
            "predictions": support["predictions"] | {"surgery_function12_mean": 55.0}}),  # fine for MHQ…
        record(A, id=str(uuid.uuid4()), decision_support=support | {
            "predictions": support["predictions"] | {"surgery_function12_mean": 55.0}}),  # …not on the BCTQ
    ]
    results = device.push_ok([good, old, *tampered])
    assert [r["result"] for r in results[:2]] == ["accepted", "accepted"]
    assert [r["result"] for r in results[2:]] == ["rejected"] * 4 + ["accepted", "rejected"], results
    assert all(r["code"] == "invalid_record" and "decision_support" in r["reason"] for r in results[2:6]), results
    assert A not in json.dumps(results)
    again = device.push_ok([good, old])  # the same revisions again: nothing changed, with or without it
    assert [r["result"] for r in again] == ["unchanged", "unchanged"]
    changed = device.push_ok([record(A, id=good["id"], decision_support=support | {"model_version": "other"})])
    assert changed[0]["code"] == "revision_conflict"
    stored = dict(query(server.database_url, "SELECT id, decision_support FROM inclusions"))
    assert json.loads(stored[good["id"]]) == support and stored[old["id"]] is None


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_a_register_of_the_previous_version_syncs_after_the_upgrade(server, tmp_path):
    from desktop import config
    from desktop.core.inputs import parse_inclusion
    from desktop.operations.services import Services
    from desktop.store.inclusions import Actor
    from desktop.store.migrations import MIGRATIONS

    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "location": "Utrecht"})
    services = Services(settings, Actor("suo.test", "suo"))
    services.register(parse_inclusion(line(A), services.bundles))
    registry = services.registry
    registry.db.execute("ALTER TABLE inclusions DROP COLUMN decision_support")  # as the previous version left it
    registry.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    services.close()

    services = Services(settings, Actor("suo.test", "suo"))  # the upgraded app opens the same file
    assert services.registry.schema_version == len(MIGRATIONS)
    assert services.registry.audit_chain_problems() == []
    services.enroll(server.url, server.enroll_code())
    summary = services.sync_once()
    assert summary.results == {"accepted": 1} and summary.pending == 0, summary.text()
    (row,) = server.export_rows("inclusion_id", "prediction_model_version", "surgery_pain_mcid_prob")
    assert row["prediction_model_version"] == "" and row["surgery_pain_mcid_prob"] == ""
    services.close()
