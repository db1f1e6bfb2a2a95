"""Coverage import (all or nothing, with birth dates), lookup by BSN and birth date, and
coverage only in the feed of devices that know the patient with the right birth date."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from helpers import valid_bsns
from serverproc import BIRTH_DATE, Client, ServerProcess, record
from sync.server.config import Settings
from sync.server.storage import Storage

A, B, C = valid_bsns(3, start=500000000)
HEADER = "bsn,birth_date,uzovi,insurer,valid_from,valid_to\n"
OTHER_BIRTH_DATE = "1980-01-01"


def write(tmp_path, text, name="dekking.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def audit_outcomes(server, action):
    storage = Storage(Settings.from_url(server.database_url))
    try:
        with storage.read() as conn:
            return [row.outcome for row in conn.execute(text(
                "SELECT outcome FROM audit_log WHERE action = :action ORDER BY id"), {"action": action})]
    finally:
        storage.dispose()


def test_a_bad_line_is_reported_by_number_and_nothing_is_imported(server, tmp_path):
    path = write(tmp_path, HEADER +
                 f"{A},{BIRTH_DATE},3311,Zilveren Kruis,2025-01-01,\n"
                 f"123456789,{BIRTH_DATE},3311,Zilveren Kruis,2025-01-01,\n"
                 f"{B},{BIRTH_DATE},33x1,CZ,2025-01-01,2024-01-01\n"
                 f"{C},{BIRTH_DATE},3311,Zilveren Kruis,2025-02-30,\n"
                 f"{C},,3311,Zilveren Kruis,2025-01-01,\n"
                 f"{B},2999-01-01,3311,Zilveren Kruis,2026-01-01,\n"
                 f"{A},1960-05-05,3311,Zilveren Kruis,2026-01-01,\n"
                 f"{A.translate({ord(str(n)): 0xFF10 + n for n in range(10)})},{BIRTH_DATE},3311,Zilveren Kruis,"
                 "2025-01-01,\n"
                 f"{C},{BIRTH_DATE},٣٣١١,CZ,2025-01-01,\n")
    result = server.admin("import-coverage", str(path), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("fout: ")
    assert "Traceback" not in result.stderr
    assert "regel 3" in result.stderr and "bsn" in result.stderr
    assert "regel 4" in result.stderr and "uzovi" in result.stderr and "valid_to" in result.stderr
    assert "regel 5" in result.stderr and "valid_from" in result.stderr
    assert "regel 6: birth_date: ontbreekt" in result.stderr
    assert "regel 7: birth_date: ligt in de toekomst" in result.stderr
    assert "regel 8: birth_date: verschilt van die op regel 2" in result.stderr
    assert "regel 9: bsn" in result.stderr and "regel 10: uzovi" in result.stderr  # other scripts' digits
    assert "123456789" not in result.stderr and A not in result.stderr
    assert server.enroll().lookup(A).json()["found"] is False  # line 2 was fine, but nothing was imported


def test_a_file_without_the_birth_date_column_is_refused_with_what_to_add(server, tmp_path):
    old = write(tmp_path, f"bsn,uzovi,insurer,valid_from,valid_to\n{A},3311,Zilveren Kruis,2025-01-01,\n")
    result = server.admin("import-coverage", str(old), check=False)
    assert result.returncode == 2
    assert "regel 1" in result.stderr and "birth_date" in result.stderr and "ontbreekt" in result.stderr
    assert "bsn,birth_date,uzovi,insurer,valid_from,valid_to" in result.stderr


def test_a_wrong_header_or_missing_file_is_a_clear_error(server, tmp_path):
    result = server.admin("import-coverage", str(write(tmp_path, "bsn;uzovi\n1;2\n")), check=False)
    assert result.returncode == 2 and "regel 1" in result.stderr
    result = server.admin("import-coverage", str(tmp_path / "nope.csv"), check=False)
    assert result.returncode == 2 and result.stderr.startswith("fout: ")


def test_lookup_finds_the_insurer_on_the_date_only_with_the_right_birth_date(server, tmp_path):
    path = write(tmp_path, HEADER +
                 f"{A},{BIRTH_DATE},7029,Menzis,2024-01-01,2024-12-31\n"
                 f"{A},{BIRTH_DATE},3311,Zilveren Kruis,2025-01-01,\n")
    assert "2 nieuw" in server.admin("import-coverage", str(path)).stdout
    client = server.enroll()
    body = client.lookup(A, on="2025-03-14").json()
    assert body["found"] is True
    assert (body["uzovi"], body["insurer"], body["valid_from"], body["valid_to"]) == (
        "3311", "Zilveren Kruis", "2025-01-01", None)
    assert client.lookup(A, on="2024-06-01").json()["uzovi"] == "7029"
    missing = client.lookup(B).json()
    wrong = client.lookup(A, birth_date=OTHER_BIRTH_DATE).json()
    assert missing["found"] is False and missing["uzovi"] is None and missing["checked_at"]
    # a wrong birth date is answered exactly like an unknown BSN
    assert {k: v for k, v in wrong.items() if k != "checked_at"} == {k: v for k, v in missing.items()
                                                                     if k != "checked_at"}
    assert audit_outcomes(server, "coverage_lookup") == ["found", "found", "not_found", "birth_date_mismatch"]
    bad = client.lookup("123456789")
    assert bad.status_code == 422 and "bsn" in bad.json()["message"] and "123456789" not in bad.text
    no_birth_date = client.session.post(f"{server.url}/v1/coverage/lookup", json={"bsn": A, "on": "2025-01-01"},
                                        timeout=10)
    assert no_birth_date.status_code == 422 and "birth_date" in no_birth_date.json()["message"]
    assert client.session.post(f"{server.url}/v1/coverage/lookup", json={"bsn": int(A), "on": "2025-01-01",
                                                                         "birth_date": BIRTH_DATE},
                               timeout=10).status_code == 422
    assert A not in server.log() and "/coverage/lookup" in server.log()  # the BSN stays out of URLs and logs


@pytest.fixture
def open_server(fresh_database, db_kind, tmp_path):
    """A server whose lookup limit is out of the way, for many lookups in a row."""
    process = ServerProcess(fresh_database, tmp_path, db_kind,
                            ("--lookup-rate", "1000000", "--lookup-burst", "1000000")).start()
    yield process
    process.stop()


def test_a_thousand_arbitrary_bsns_with_wrong_birth_dates_disclose_nothing(open_server, tmp_path):
    """A hostile enrolled device speaking raw HTTP: it has BSNs, not birth dates."""
    bsns = valid_bsns(1000, start=600000000)
    rows = "".join(f"{bsn},{1930 + i % 70}-{1 + i % 12:02d}-{1 + i % 28:02d},3311,Zilveren Kruis,2025-01-01,\n"
                   for i, bsn in enumerate(bsns))
    open_server.admin("import-coverage", str(write(tmp_path, HEADER + rows)))
    honest, attacker = open_server.enroll("kamer 1"), open_server.enroll("aanvaller")
    sessions = threading.local()

    def guess(i: int) -> tuple[int, dict]:
        if not hasattr(sessions, "client"):
            sessions.client = Client(attacker.url, attacker.token, attacker.device_id)
        wrong = f"{1930 + (i + 1) % 70}-{1 + (i + 5) % 12:02d}-{1 + (i + 3) % 28:02d}"  # never the right one
        response = sessions.client.lookup(bsns[i], birth_date=wrong)
        return response.status_code, response.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(guess, range(len(bsns))))
    for status, body in answers:
        assert status == 200
        assert set(body) == {"found", "uzovi", "insurer", "valid_from", "valid_to", "checked_at"}
        assert body["found"] is False and body["uzovi"] is None
    # and nothing reaches its feed afterwards, not even when the coverage changes
    open_server.admin("import-coverage", str(write(tmp_path, HEADER + rows.replace("3311,Zilveren Kruis",
                                                                                    "7029,Menzis"), "new.csv")))
    changes, _ = attacker.all_changes()
    assert [c for c in changes if c["kind"] == "coverage"] == []
    assert honest.lookup(bsns[7], birth_date="1937-08-08").json()["uzovi"] == "7029"  # the right one answers
    assert audit_outcomes(open_server, "coverage_lookup").count("birth_date_mismatch") == 1000


def test_coverage_reaches_only_the_devices_that_know_the_patient(server, tmp_path):
    server.admin("import-coverage", str(write(tmp_path, HEADER + f"{A},{BIRTH_DATE},3311,Zilveren Kruis,2025-01-01,\n"
                                                        f"{B},{BIRTH_DATE},3311,Zilveren Kruis,2025-01-01,\n")))
    looker, includer, bystander = server.enroll("kamer 1"), server.enroll("kamer 2"), server.enroll("kamer 3")
    guesser, fake_includer = server.enroll("kamer 4"), server.enroll("kamer 5")
    looker.lookup(A)
    includer.push_ok([record(B)])
    guesser.lookup(A, birth_date=OTHER_BIRTH_DATE)
    fake_includer.push_ok([record(A, birth_date=OTHER_BIRTH_DATE)])  # knows the BSN, not the patient

    def coverage_bsns(client):
        changes, _ = client.all_changes()
        return [(c["coverage"]["bsn"], c["coverage"]["uzovi"]) for c in changes if c["kind"] == "coverage"]

    assert coverage_bsns(looker) == [(A, "3311")]
    assert coverage_bsns(includer) == [(B, "3311")]
    assert coverage_bsns(bystander) == coverage_bsns(guesser) == coverage_bsns(fake_includer) == []
    # A changes insurer: only the device that knows A hears of it
    cursors = {client: client.all_changes()[1] for client in (looker, bystander, guesser, fake_includer)}
    result = server.admin("import-coverage", str(write(tmp_path, HEADER +
                                                       f"{A},{BIRTH_DATE},3311,Zilveren Kruis,2025-01-01,2025-06-30\n"
                                                       f"{A},{BIRTH_DATE},7029,Menzis,2025-07-01,\n"
                                                       f"{C},{BIRTH_DATE},0101,VGZ,2025-01-01,\n",
                                                       name="update.csv")))
    assert "2 nieuw, 1 gewijzigd" in result.stdout
    changes, _ = looker.all_changes(cursors[looker])
    assert [(c["coverage"]["uzovi"], c["coverage"]["valid_to"]) for c in changes] == [("3311", "2025-06-30"),
                                                                                      ("7029", None)]
    assert all("birth_date" not in c["coverage"] for c in changes)
    for stranger in (bystander, guesser, fake_includer):
        assert stranger.all_changes(cursors[stranger])[0] == []  # nothing for a stranger
    # a re-import of the same file changes nothing
    assert "0 nieuw, 0 gewijzigd" in server.admin("import-coverage", str(tmp_path / "update.csv")).stdout
