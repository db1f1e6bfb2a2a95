"""Intake questionnaires: `import-intake` and `POST /v1/intake/lookup` on the real server
(SQLite and PostgreSQL), with exports shaped like a PROM platform's (`intake_exports`)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests

import intake_exports as fx
from serverproc import ServerProcess, query
from sync.client import IntakeUnsupported, ServerClient

A, A_BORN = "111222333", "1971-06-02"
B, B_BORN = "123456782", "1980-02-29"
NOT_A_BSN = "123456789"  # fails the 11-proef


def clinic_export(a2_pain: int = 6) -> dict:
    """Three patients, several responses each, one unfinished, one out of range, one without a valid BSN."""
    a, b, c = fx.patient("1001", A, A_BORN), fx.patient("1002", B, B_BORN), fx.patient("1003", NOT_A_BSN, A_BORN)
    a1 = fx.response("tok-a1", fx.gems_reference("1001"), "2025-01-10T09:00:00+01:00", {
        "nrs_pain_0": 8, "work_status": ("office", "Kantoorwerk"), "diabetes": False,
        **fx.bctq("bctq_sss_q", [3] * 11), **fx.bctq("bctq_fss_q", [2, 2, 2, 2, 3, 3, 3, 3])})
    a2 = fx.response("tok-a2", fx.gems_reference("1001"), "2025-03-01 08:30:00", {  # GemsTracker: local time
        "nrs_pain_0": a2_pain, **fx.bctq("pcs_q", [2] * 13), **fx.bctq("phq4_q", [1, 1, 0, 0]),
        "opmerking": "graag snel een afspraak"}, gems_answer=False)
    a3 = fx.response("tok-a3", fx.gems_reference("1001"), "2025-03-05T10:00:00+01:00", {"nrs_pain_0": 1},
                     status="in-progress")
    b1 = fx.response("tok-b1", fx.gems_reference("1002"), "2025-02-20T14:00:00+01:00", {
        "nrs_pain_0": 3, **fx.bctq("bctq_sss_q", [4, 4, 4, 5, 5, 5]), **fx.bctq("pcs_q", [1] * 12)})
    b2 = fx.response("tok-b2", fx.gems_reference("1002"), "2025-02-25T14:00:00+01:00", {
        "nrs_pain_0": 3, "bctq_sss_q4": 7})
    c1 = fx.response("tok-c1", fx.gems_reference("1003"), "2025-02-25T14:00:00+01:00", {"nrs_pain_0": 3})
    return fx.searchset(("match", a1), ("include", a), ("match", a2), ("match", a3), ("match", b1), ("include", b),
                        ("match", b2), ("match", c1), ("include", c))


def lookup(server, device, bsn: str, born: str, on: str) -> dict:
    response = device.session.post(f"{server.url}/v1/intake/lookup", json={"bsn": bsn, "birth_date": born, "on": on},
                                   timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_import_of_a_prom_export_and_the_lookup_for_the_device(server, tmp_path):
    export = clinic_export()
    export["link"] = [{"relation": "self", "url": "https://prom.example/fhir/QuestionnaireResponse?_count=50"}]
    path = fx.write(tmp_path / "intake.json", export)
    result = server.admin("import-intake", str(path), check=False)
    assert result.returncode == 1, result.stderr  # two responses skipped
    assert "6 vragenlijsten gelezen: 3 nieuw, 0 gewijzigd, 0 ongewijzigd, 2 overgeslagen, 1 niet afgerond" \
        in result.stdout
    # the Bundle's entries: a1 1, a 2, a2 3, a3 4, b1 5, b 6, b2 7, c1 8, c 9
    assert "overgeslagen: entry 7: bctq_sss_q4: buiten bereik" in result.stderr
    assert "overgeslagen: entry 8: subject: BSN is geen geldig BSN" in result.stderr
    assert "genegeerde linkIds (niet in het codeboek of de mapping): opmerking" in result.stderr
    assert "waarschuwing" not in result.stderr  # one page only: no next link
    for secret in (A, B, NOT_A_BSN, "graag snel"):
        assert secret not in result.stdout + result.stderr

    device = server.enroll("kamer 1")
    newest = lookup(server, device, A, A_BORN, "2025-03-14")
    assert newest["found"] is True
    assert newest["completed_on"] == "2025-03-01"
    assert newest["completed_at"].startswith("2025-03-01T07:30:00")  # 08:30 in Amsterdam in winter
    assert newest["values"] == {"nrs_pain_0": 6.0, "pcs": 26.0, "phq4": 2.0}  # 13 x 2; 1 + 1 + 0 + 0
    earlier = lookup(server, device, A, A_BORN, "2025-02-01")
    # 11 x 3 / 11 = 3.0; (4 x 2 + 4 x 3) / 8 = 2.5
    assert earlier["values"] == {"nrs_pain_0": 8.0, "work_status": "office", "diabetes": 0.0, "bctq_sss_0": 3.0,
                                 "bctq_fss_0": 2.5}
    assert lookup(server, device, A, A_BORN, "2025-01-09")["found"] is False
    # partial item sets: BCTQ 6 of 11 scored ((3 x 4 + 3 x 5) / 6 = 4.5), PCS 12 of 13 left out
    assert lookup(server, device, B, B_BORN, "2025-03-14")["values"] == {"nrs_pain_0": 3.0, "bctq_sss_0": 4.5}

    wrong = lookup(server, device, A, "1971-06-03", "2025-03-14")
    unknown = lookup(server, device, "999999990", A_BORN, "2025-03-14")
    assert {k: v for k, v in wrong.items() if k != "checked_at"} == \
        {k: v for k, v in unknown.items() if k != "checked_at"} == \
        {"found": False, "completed_on": None, "completed_at": None, "values": {}}
    outcomes = query(server.database_url, "SELECT outcome, patient_bsn FROM audit_log WHERE action = 'intake_lookup' "
                                          "ORDER BY id")
    assert [tuple(row) for row in outcomes] == [("found", A), ("found", A), ("not_found", A), ("found", B),
                                                ("birth_date_mismatch", A), ("not_found", "999999990")]
    imports = query(server.database_url, "SELECT patient_bsn, outcome, details FROM audit_log "
                                         "WHERE action = 'intake_import' AND patient_bsn IS NOT NULL ORDER BY id")
    assert [(row[0], row[1], json.loads(row[2])) for row in imports] == [
        (A, "added", {"added": 2, "changed": 0}), (B, "added", {"added": 1, "changed": 0})]

    # the same file again changes nothing; a corrected response replaces the stored one
    again = server.admin("import-intake", str(path), check=False)
    assert "3 ongewijzigd" in again.stdout and "0 nieuw, 0 gewijzigd" in again.stdout
    assert query(server.database_url, "SELECT count(*) FROM intake_responses")[0][0] == 3
    assert len(query(server.database_url, "SELECT id FROM audit_log WHERE action = 'intake_import' "
                                          "AND patient_bsn IS NOT NULL")) == 2
    fx.write(path, clinic_export(a2_pain=5))
    changed = server.admin("import-intake", str(path), check=False)
    assert "0 nieuw, 1 gewijzigd, 2 ongewijzigd" in changed.stdout
    assert lookup(server, device, A, A_BORN, "2025-03-14")["values"]["nrs_pain_0"] == 5.0

    client = ServerClient(server.url, device.token)
    found = client.lookup_intake(B, dt.date(1980, 2, 29), dt.date(2025, 3, 1))
    assert found.found and found.values == {"nrs_pain_0": 3.0, "bctq_sss_0": 4.5}


def test_a_transaction_bundle_with_urn_references_and_a_single_resource_import(server, tmp_path):
    patient_url = "urn:uuid:0f7c2c4e-4c55-4d0e-9b7e-7a1d3c1e0001"
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient_url, "resource": fx.patient("2001", B, B_BORN),
         "request": {"method": "PUT", "url": f"Patient?identifier={fx.BSN_SYSTEM}|x"}},
        {"fullUrl": "urn:uuid:0f7c2c4e-4c55-4d0e-9b7e-7a1d3c1e0002",
         "resource": {**fx.response("ignored", {"reference": patient_url}, "2025-02-01",
                                    fx.bctq("phq4_q", [3, 3, 3, 3]), status="amended"),
                      "identifier": {"system": "https://prom.example/responses", "value": "R-77"}},
         "request": {"method": "POST", "url": "QuestionnaireResponse"}}]}
    result = server.admin("import-intake", str(fx.write(tmp_path / "tx.json", transaction)))
    assert "1 nieuw" in result.stdout

    single = fx.response("tok-s", {"reference": "#p", "identifier": {"system": fx.BSN_SYSTEM, "value": A}},
                         "2025-02-02T12:00:00Z", {"nrs_pain_0": 2}, gems_answer=False)
    single["contained"] = [{**fx.patient("3001", A, A_BORN), "id": "p"}]
    assert "1 nieuw" in server.admin("import-intake", str(fx.write(tmp_path / "one.json", single))).stdout

    device = server.enroll()
    assert lookup(server, device, B, B_BORN, "2025-02-01")["values"] == {"phq4": 12.0}
    assert lookup(server, device, A, A_BORN, "2025-02-02")["values"] == {"nrs_pain_0": 2.0}


def test_intake_lookups_are_rate_limited_per_device_and_need_a_token(fresh_database, db_kind, tmp_path):
    process = ServerProcess(fresh_database, tmp_path, db_kind, ("--lookup-rate", "6", "--lookup-burst", "2"),
                            bundles=False).start()
    try:
        device, other = process.enroll("kamer 1"), process.enroll("kamer 2")
        body = {"bsn": A, "birth_date": A_BORN, "on": "2025-03-14"}
        answers = [device.session.post(f"{process.url}/v1/intake/lookup", json=body, timeout=30) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].json()["code"] == "rate_limited"
        assert int(answers[2].headers["Retry-After"]) >= 1
        assert device.lookup(A).status_code == 200  # the coverage lookup has its own allowance
        assert other.session.post(f"{process.url}/v1/intake/lookup", json=body, timeout=30).status_code == 200
        anonymous = requests.post(f"{process.url}/v1/intake/lookup", json=body, timeout=30,
                                  headers={"X-Bundelassistent-Protocol": "2"})
        assert anonymous.status_code == 401
    finally:
        process.stop()


@pytest.mark.parametrize("content, message", [
    (b'{"resourceType": "Bundle", "type": "searchset", "entry": [', "geen geldige JSON"),
    (b'{"resourceType": "Bundle", "type": "document", "entry": []}', "Bundle.type"),
    (b'{"resourceType": "Patient"}', "resourceType moet Bundle of QuestionnaireResponse"),
    (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "bevat geen QuestionnaireResponse"),
    (b"\xff\xfe\x00garbage", "geen UTF-8"),
    (b"bsn;geboortedatum\n111222333;1971-06-02\n", "birth_date, completed_at ontbreken"),
])
def test_an_unusable_file_stops_with_exit_2_and_imports_nothing(tmp_path, content, message):
    process = ServerProcess(f"sqlite:///{tmp_path / 'server.sqlite3'}", tmp_path, "sqlite", bundles=False)
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    result = process.admin("import-intake", str(path), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("fout: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert query(process.database_url, "SELECT count(*) FROM intake_responses")[0][0] == 0


def test_a_csv_export_with_a_clinic_mapping(tmp_path):
    process = ServerProcess(f"sqlite:///{tmp_path / 'server.sqlite3'}", tmp_path, "sqlite", bundles=False)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[links]\npijn = "nrs_pain_0"\nwerk = "work_status"\n\n[codes.work_status]\n'
                       '"1" = "office"\n"4" = "retired"\n', encoding="utf-8")
    csv = tmp_path / "intake.csv"
    csv.write_text("bsn;birth_date;completed_at;pijn;werk;phq4_q1;phq4_q2;phq4_q3;phq4_q4;extra\n"
                   f"{A};{A_BORN};2025-03-01T10:00:00+01:00;7;4;0;1;2;3;x\n"
                   f"{B};{B_BORN};2025-03-02;11;1;;;;;\n"          # pain out of range
                   f"１１１２２２３３３;{A_BORN};2025-03-02;5;1;;;;;\n",  # full-width digits are not a BSN
                   encoding="utf-8")
    result = process.admin("import-intake", str(csv), "--mapping", str(mapping), check=False)
    assert result.returncode == 1
    assert "3 vragenlijsten gelezen: 1 nieuw" in result.stdout
    assert "overgeslagen: regel 3: pijn: buiten bereik" in result.stderr
    assert "overgeslagen: regel 4: bsn: moet uit precies 9 cijfers (0-9) bestaan" in result.stderr
    assert "genegeerde linkIds (niet in het codeboek of de mapping): extra" in result.stderr
    stored = query(process.database_url, "SELECT bsn, completed_on, answers FROM intake_responses")
    assert [(row[0], str(row[1]), json.loads(row[2])) for row in stored] == [
        (A, "2025-03-01", {"nrs_pain_0": 7.0, "work_status": "retired", "phq4": 6.0})]  # 0 + 1 + 2 + 3

    bad_mapping = tmp_path / "bad.toml"
    bad_mapping.write_text('[links]\npijn = "pijn_nu"\n', encoding="utf-8")
    refused = process.admin("import-intake", str(csv), "--mapping", str(bad_mapping), check=False)
    assert refused.returncode == 2 and "links.pijn" in refused.stderr


def test_a_server_without_the_intake_lookup_is_reported_as_such(tmp_path):
    """An older server answers 404 not_found: the client says what IT must do."""
    import http.server
    import threading

    class Old(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = b'{"code": "not_found", "message": "Dit adres bestaat niet op de server."}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Old)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = ServerClient(f"http://127.0.0.1:{httpd.server_address[1]}", "x" * 43)
        with pytest.raises(IntakeUnsupported, match="vraag IT de centrale server bij te werken"):
            client.lookup_intake(A, dt.date(1971, 6, 2), dt.date(2025, 3, 14))
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def test_nested_answers_and_answers_of_the_wrong_kind_in_the_reader(tmp_path):
    """The reader on its own: items under an answer count; an unsupported or double answer rejects."""
    from sync.server import intake

    subject = {"reference": "Patient/p1"}
    nested = fx.response("n1", subject, "2025-02-01", {}, gems_answer=False)
    nested["item"] = [{"linkId": "pijn", "answer": [{"valueBoolean": True, "item": [
        {"linkId": "nrs_pain_0", "answer": [{"valueDecimal": 4.0}]}]}]}]
    attachment = fx.response("n2", subject, "2025-02-01", {}, gems_answer=False)
    attachment["item"] = [{"linkId": "nrs_pain_0", "answer": [{"valueAttachment": {"url": "x"}}]}]
    double = fx.response("n3", subject, "2025-02-01", {}, gems_answer=False)
    double["item"] = [{"linkId": "nrs_pain_0", "answer": [{"valueInteger": 4}, {"valueInteger": 5}]}]
    future = fx.response("n4", subject, "2999-01-01T10:00:00Z", {"nrs_pain_0": 4})
    withdrawn = fx.response("n5", subject, "2025-02-01", {"nrs_pain_0": 4}, status="entered-in-error")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "https://prom.example/fhir/Patient/p1", "resource": {**fx.patient("1", A, A_BORN), "id": "p1"}},
        *({"resource": r} for r in (nested, attachment, double, future, withdrawn))]}
    bundle["link"] = [{"relation": "next", "url": "https://prom.example/fhir/QuestionnaireResponse?page=2"}]
    parsed = intake.read_intake(fx.write(tmp_path / "nested.json", bundle))
    assert parsed.more_pages
    assert [(r.key, r.values) for r in parsed.responses] == [("id:n1", {"nrs_pain_0": 4.0})]
    assert parsed.ignored == {"pijn"}
    assert [(where, [p.link_id for p in problems]) for where, problems in parsed.rejected] == [
        ("entry 3", ["nrs_pain_0"]), ("entry 4", ["nrs_pain_0"]), ("entry 5", ["authored"])]
    assert parsed.not_completed == 1


def test_link_ids_from_the_file_are_printed_short_printable_and_without_nine_digit_numbers(tmp_path):
    process = ServerProcess(f"sqlite:///{tmp_path / 'server.sqlite3'}", tmp_path, "sqlite", bundles=False)
    subject = {"reference": "Patient/p1"}
    odd = fx.response("o1", subject, "2025-02-01", {f"bsn {A}": 1, "regel\nbreuk": 2, "nrs_pain_0": 3})
    bad = fx.response("o2", subject, "2025-02-01", {"nrs_pain_0": 3}, gems_answer=False)
    bad["item"].append({"linkId": f"x{B}", "answer": [{"valueAttachment": {}}]})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {**fx.patient("1", A, A_BORN), "id": "p1"}}, {"resource": odd}, {"resource": bad}]}
    result = process.admin("import-intake", str(fx.write(tmp_path / "odd.json", bundle)), check=False)
    assert result.returncode == 1  # o2's unsupported answer
    assert A not in result.stderr and B not in result.stderr
    assert "overgeslagen: entry 3: x*********: antwoordsoort niet ondersteund" in result.stderr
    assert "bsn *********" in result.stderr and "regel?breuk" in result.stderr


def test_an_intake_imported_for_one_organisation_is_looked_up_only_by_its_devices(server, tmp_path):
    """On a server shared by several clinics a patient's answers (PHQ-4 included) go to the
    clinic they were imported for, not to every device that knows BSN and birth date."""
    path = fx.write(tmp_path / "intake.json", clinic_export())
    assert server.admin("import-intake", str(path), "--organisation", "Handkliniek Noord",
                        check=False).returncode == 1  # the export's two bad responses
    north, south = server.enroll("noord", organisation="Handkliniek Noord"), server.enroll("zuid",
                                                                                          organisation="Kliniek Zuid")
    assert lookup(server, north, A, A_BORN, "2025-03-14")["values"]["nrs_pain_0"] == 6.0
    refused = lookup(server, south, A, A_BORN, "2025-03-14")
    unknown = lookup(server, south, "999999990", A_BORN, "2025-03-14")
    assert {k: v for k, v in refused.items() if k != "checked_at"} == \
        {k: v for k, v in unknown.items() if k != "checked_at"}  # not told that it exists elsewhere
    assert refused["found"] is False

    # imported again without an organisation: every organisation's devices may look it up
    again = server.admin("import-intake", str(path), check=False)
    assert "0 nieuw, 3 gewijzigd" in again.stdout
    assert lookup(server, south, A, A_BORN, "2025-03-14")["found"] is True
    bad = server.admin("import-intake", str(path), "--organisation", " ", check=False)
    assert bad.returncode == 2 and "--organisation" in bad.stderr
