"""Coverage import (all or nothing), lookup, and coverage only in the feed of devices that know the patient."""

from helpers import valid_bsns
from serverproc import record

A, B, C = valid_bsns(3, start=500000000)


def write(tmp_path, text, name="dekking.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_line_is_reported_by_number_and_nothing_is_imported(server, tmp_path):
    path = write(tmp_path, "bsn,uzovi,insurer,valid_from,valid_to\n"
                           f"{A},3311,Zilveren Kruis,2025-01-01,\n"
                           "123456789,3311,Zilveren Kruis,2025-01-01,\n"
                           f"{B},33x1,CZ,2025-01-01,2024-01-01\n"
                           f"{C},3311,Zilveren Kruis,2025-02-30,\n")
    result = server.admin("import-coverage", str(path), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("fout: ")
    assert "Traceback" not in result.stderr
    assert "regel 3" in result.stderr and "bsn" in result.stderr
    assert "regel 4" in result.stderr and "uzovi" in result.stderr and "valid_to" in result.stderr
    assert "regel 5" in result.stderr and "valid_from" in result.stderr
    assert "123456789" not in result.stderr
    assert server.enroll().lookup(A).json()["found"] is False  # line 2 was fine, but nothing was imported


def test_a_wrong_header_or_missing_file_is_a_clear_error(server, tmp_path):
    result = server.admin("import-coverage", str(write(tmp_path, "bsn;uzovi\n1;2\n")), check=False)
    assert result.returncode == 2 and "regel 1" in result.stderr
    result = server.admin("import-coverage", str(tmp_path / "nope.csv"), check=False)
    assert result.returncode == 2 and result.stderr.startswith("fout: ")


def test_lookup_finds_the_insurer_on_the_date(server, tmp_path):
    path = write(tmp_path, "bsn,uzovi,insurer,valid_from,valid_to\n"
                           f"{A},7029,Menzis,2024-01-01,2024-12-31\n"
                           f"{A},3311,Zilveren Kruis,2025-01-01,\n")
    assert "2 nieuw" in server.admin("import-coverage", str(path)).stdout
    client = server.enroll()
    body = client.lookup(A, on="2025-03-14").json()
    assert body["found"] is True
    assert (body["uzovi"], body["insurer"], body["valid_from"], body["valid_to"]) == (
        "3311", "Zilveren Kruis", "2025-01-01", None)
    assert client.lookup(A, on="2024-06-01").json()["uzovi"] == "7029"
    missing = client.lookup(B).json()
    assert missing["found"] is False and missing["uzovi"] is None and missing["checked_at"]
    bad = client.lookup("123456789")
    assert bad.status_code == 422 and "bsn" in bad.json()["message"] and "123456789" not in bad.text
    assert client.session.post(f"{server.url}/v1/coverage/lookup", json={"bsn": int(A), "on": "2025-01-01"},
                               timeout=10).status_code == 422
    assert A not in server.log() and "/coverage/lookup" in server.log()  # the BSN stays out of URLs and logs


def test_coverage_reaches_only_the_devices_that_know_the_patient(server, tmp_path):
    header = "bsn,uzovi,insurer,valid_from,valid_to\n"
    server.admin("import-coverage", str(write(tmp_path, header + f"{A},3311,Zilveren Kruis,2025-01-01,\n"
                                                        f"{B},3311,Zilveren Kruis,2025-01-01,\n")))
    looker, includer, bystander = server.enroll("kamer 1"), server.enroll("kamer 2"), server.enroll("kamer 3")
    looker.lookup(A)
    includer.push_ok([record(B)])

    def coverage_bsns(client):
        changes, _ = client.all_changes()
        return [(c["coverage"]["bsn"], c["coverage"]["uzovi"]) for c in changes if c["kind"] == "coverage"]

    assert coverage_bsns(looker) == [(A, "3311")]
    assert coverage_bsns(includer) == [(B, "3311")]
    assert coverage_bsns(bystander) == []
    # A changes insurer: only the device that knows A hears of it
    _, looker_cursor = looker.all_changes()
    _, bystander_cursor = bystander.all_changes()
    result = server.admin("import-coverage", str(write(tmp_path, header + f"{A},3311,Zilveren Kruis,2025-01-01,"
                                                                        "2025-06-30\n"
                                                                        f"{A},7029,Menzis,2025-07-01,\n"
                                                                        f"{C},0101,VGZ,2025-01-01,\n",
                                                       name="update.csv")))
    assert "2 nieuw, 1 gewijzigd" in result.stdout
    changes, _ = looker.all_changes(looker_cursor)
    assert [(c["coverage"]["uzovi"], c["coverage"]["valid_to"]) for c in changes] == [("3311", "2025-06-30"),
                                                                                      ("7029", None)]
    assert bystander.all_changes(bystander_cursor)[0] == []  # nothing for a stranger
    # a re-import of the same file changes nothing
    assert "0 nieuw, 0 gewijzigd" in server.admin("import-coverage", str(tmp_path / "update.csv")).stdout
