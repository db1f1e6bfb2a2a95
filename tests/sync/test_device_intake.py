"""`bundelassistent intake` on a real device register against the real server process.

From the server; with the server stopped from the encrypted local cache (each CLI run is a
new process, so the cache survives a restart); a wrong birth date or another patient's BSN
finds nothing, never another patient's values; an older server (404) falls back to the
cache without a traceback; the cached answers are not readable in the file's plaintext.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

import intake_exports as fx
from desktop.store import remote_copies
from desktop.store.inclusions import DATABASE_NAME, Actor, Registry
from helpers import CLI, open_register
from serverproc import ServerProcess

A, A_BORN = "111222333", "1971-06-02"
B, B_BORN = "123456782", "1980-02-29"
A_NEWEST = {"nrs_pain_0": 6.0, "pcs": 26.0, "phq4": 2.0}  # 13 x 2; 1 + 1 + 0 + 0
A_EARLIER = {"nrs_pain_0": 8.0, "work_status": "office", "bctq_sss_0": 3.0}
B_VALUES = {"nrs_pain_0": 3.0, "bctq_fss_0": 4.0}


def export() -> dict:
    """Two patients; A answered twice (January and March) and left one unfinished."""
    a, b = fx.patient("1001", A, A_BORN), fx.patient("1002", B, B_BORN)
    a1 = fx.response("tok-a1", fx.gems_reference("1001"), "2025-01-10T09:00:00+01:00", {
        "nrs_pain_0": 8, "work_status": ("office", "Kantoorwerk"), **fx.bctq("bctq_sss_q", [3] * 11)})
    a2 = fx.response("tok-a2", fx.gems_reference("1001"), "2025-03-01T08:30:00+01:00", {
        "nrs_pain_0": 6, **fx.bctq("pcs_q", [2] * 13), **fx.bctq("phq4_q", [1, 1, 0, 0])})
    a3 = fx.response("tok-a3", fx.gems_reference("1001"), "2025-03-05T10:00:00+01:00", {"nrs_pain_0": 1},
                     status="in-progress")
    b1 = fx.response("tok-b1", fx.gems_reference("1002"), "2025-02-20T14:00:00+01:00", {
        "nrs_pain_0": 3, **fx.bctq("bctq_fss_q", [4] * 8)})
    return fx.searchset(("match", a1), ("include", a), ("match", a2), ("match", a3), ("match", b1), ("include", b))


class Device:
    """The `bundelassistent` command line on its own data folder, as a user runs it."""

    def __init__(self, tmp_path: Path):
        self.data = tmp_path / "device"
        self.env = dict(os.environ, BUNDELASSISTENT_LOG_DIR=str(tmp_path / "logs"))

    def run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*CLI, "--data-dir", str(self.data), *args], capture_output=True, text=True,
                                timeout=120, env=self.env)
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    def enroll(self, url: str, code: str) -> Device:
        result = self.run("enroll", "--server", url, "--code", code)
        assert result.returncode == 0, result.stderr
        return self

    def intake(self, bsn: str, born: str, on: str) -> dict:
        result = self.run("intake", "--bsn", bsn, "--birth-date", born, "--on", on, "--json")
        assert result.returncode == 0, result.stderr
        for secret in (A, B):
            assert secret not in result.stdout + result.stderr
        answer = json.loads(result.stdout)
        assert set(answer) == {"source", "completed_at", "values"}
        return answer

    def intake_audit(self) -> list[tuple[str, str]]:
        with Registry.in_folder(self.data, Actor("test", "suo")) as registry:
            return [(row["patient_bsn"], json.loads(row["details"])["source"]) for row in registry.audit_entries()
                    if row["object_type"] == "intake"]


def start_server(tmp_path: Path, *serve_args: str) -> ServerProcess:
    """The real server with the two patients' intakes imported."""
    return fx.serving(tmp_path, export(), *serve_args)


@pytest.fixture
def server(tmp_path):
    process = start_server(tmp_path)
    yield process
    process.stop()


NONE = {"source": "none", "completed_at": None, "values": {}}


def test_from_the_server_then_from_the_cache_once_the_server_is_stopped(server, tmp_path):
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    newest = device.intake(A, A_BORN, "2025-03-14")
    assert newest["source"] == "server"
    assert newest["completed_at"].startswith("2025-03-01T07:30:00")  # 08:30 in Amsterdam, in UTC
    assert newest["values"] == A_NEWEST
    earlier = device.intake(A, A_BORN, "2025-02-01")
    assert earlier["source"] == "server" and earlier["values"] == A_EARLIER
    assert device.intake(B, B_BORN, "2025-03-14")["values"] == B_VALUES

    server.stop()  # every call below is a new CLI process: the cache is in the register file
    assert device.intake(A, A_BORN, "2025-03-14") == {**newest, "source": "cache"}
    assert device.intake(A, A_BORN, "2025-02-15") == {**earlier, "source": "cache"}  # March is after the 15th
    assert device.intake(A, A_BORN, "2025-01-09") == NONE  # before either was completed
    assert device.intake(A, "1971-06-03", "2025-03-14") == NONE  # wrong birth date
    assert device.intake(A, B_BORN, "2025-03-14") == NONE  # another patient's birth date
    assert device.intake(B, A_BORN, "2025-03-14") == NONE  # another patient's BSN
    assert device.intake(B, B_BORN, "2025-03-14") == {"source": "cache", "completed_at": "2025-02-20T13:00:00Z",
                                                      "values": B_VALUES}

    text = device.run("intake", "--bsn", A, "--birth-date", A_BORN, "--on", "2025-03-14")
    assert text.returncode == 0
    assert text.stdout.startswith("intakevragenlijst van 2025-03-01, uit de lokale cache")
    assert "nrs_pain_0: 6.0" in text.stdout and A not in text.stdout
    audit = device.intake_audit()  # one entry per lookup, for the patient asked about
    assert audit[:3] == [(A, "server"), (A, "server"), (B, "server")]
    assert audit[3:6] == [(A, "cache"), (A, "cache"), (A, "none")]
    assert len(audit) == 11 and audit[-1] == (A, "cache")


def test_what_the_server_no_longer_knows_is_not_answered_from_the_cache(server, tmp_path):
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    assert device.intake(A, A_BORN, "2025-03-14")["source"] == "server"
    # the server answers "not found" for a wrong birth date: the cache is not asked then
    assert device.intake(A, "1971-06-03", "2025-03-14") == NONE
    assert device.intake(B, A_BORN, "2025-03-14") == NONE


def test_a_rate_limited_lookup_answers_from_the_cache_and_says_to_wait(tmp_path):
    server = start_server(tmp_path, "--lookup-rate", "1", "--lookup-burst", "2")  # two, then one a minute
    try:
        device = Device(tmp_path).enroll(server.url, server.enroll_code())
        assert device.intake(A, A_BORN, "2025-03-14")["source"] == "server"
        assert device.intake(B, B_BORN, "2025-03-14")["source"] == "server"
        assert device.intake(A, A_BORN, "2025-03-14") == {"source": "cache",
                                                          "completed_at": "2025-03-01T07:30:00Z", "values": A_NEWEST}
        text = device.run("intake", "--bsn", B, "--birth-date", B_BORN, "--on", "2025-03-14")
        assert "uit de lokale cache" in text.stdout and "te veel opzoekingen" in text.stdout
        assert device.intake(B, A_BORN, "2025-03-14") == NONE  # rate-limited: the cache, which has no match
    finally:
        server.stop()


def test_the_cached_answers_are_only_in_the_encrypted_file(server, tmp_path):
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    assert device.intake(A, A_BORN, "2025-02-01")["values"] == A_EARLIER
    register = device.data / DATABASE_NAME
    with open_register(register) as plain:  # with the key, as the app reads it
        rows = plain.execute("SELECT bsn, birth_date, answers FROM intake_cache").fetchall()
    assert [(bsn, born, json.loads(answers)) for bsn, born, answers in rows] == [(A, A_BORN, A_EARLIER)]
    files = [path for path in device.data.iterdir() if path.name.startswith(DATABASE_NAME)]
    raw = b"".join(path.read_bytes() for path in files)
    assert len(raw) > 4096
    for secret in (b"intake_cache", b"bctq_sss_0", b"nrs_pain_0", b"office", A.encode(), A_BORN.encode()):
        assert secret not in raw


class OlderServer(http.server.BaseHTTPRequestHandler):
    """A server from before the intake lookup: it enrols, and answers 404 to the rest."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/enroll":
            self._json(200, {"device_id": "0f1e2d3c-4b5a-4968-8776-655443322110", "token": "t" * 43,
                             "server_time": "2026-12-01T09:00:00Z"})
        else:
            self._json(404, {"code": "not_found", "message": "Dit adres bestaat niet op de server."})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def older_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OlderServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def test_an_older_server_gives_the_cache_or_none_and_no_traceback(older_server, tmp_path):
    device = Device(tmp_path).enroll(older_server, "ABCD-EFGH-JKLM")
    assert device.intake(A, A_BORN, "2025-03-14") == NONE
    text = device.run("intake", "--bsn", A, "--birth-date", A_BORN, "--on", "2025-03-14")
    assert text.returncode == 0 and "vraag IT de centrale server bij te werken" in text.stdout

    with Registry.in_folder(device.data, Actor("test", "suo")) as registry:  # as an earlier server left it
        remote_copies.cache_intake(registry, A, dt.date(1971, 6, 2), dt.date(2025, 3, 1), None, A_NEWEST,
                                   "2025-03-10T08:00:00Z")
    assert device.intake(A, A_BORN, "2025-03-14") == {"source": "cache", "completed_at": "2025-03-01",
                                                      "values": A_NEWEST}
    assert device.intake(B, A_BORN, "2025-03-14") == NONE


@pytest.mark.parametrize(("args", "expected"), [
    (["--bsn", "123456789", "--birth-date", A_BORN], "fout: BSN (--bsn): is geen geldig BSN"),
    (["--bsn", "12345678", "--birth-date", A_BORN], "fout: BSN (--bsn): moet precies 9 cijfers hebben"),
    (["--bsn", A, "--birth-date", "2 juni 1971"], "fout: geboortedatum (--birth-date): is geen geldige datum"),
    (["--bsn", A, "--birth-date", A_BORN, "--on", "2025-02-30"], "fout: consultdatum (--on): is geen geldige datum"),
    (["--bsn", A, "--birth-date", "2025-03-15", "--on", "2025-03-14"],
     "fout: geboortedatum (--birth-date): ligt na de consultdatum"),
])
def test_bad_input_names_the_field_in_dutch_with_exit_2(tmp_path, args, expected):
    result = Device(tmp_path).run("intake", *args, "--json")
    assert result.returncode == 2
    assert result.stderr.startswith(expected), result.stderr
    assert result.stdout == "" and "123456789" not in result.stderr


def test_what_the_server_no_longer_has_leaves_the_cache(server, tmp_path):
    """Cached answers the server has since dropped for the patient (here: re-imported for
    another organisation) are not shown offline later."""
    device = Device(tmp_path).enroll(server.url, server.enroll_code())
    assert device.intake(A, A_BORN, "2025-03-14")["values"] == A_NEWEST
    assert device.intake(A, A_BORN, "2025-02-01")["values"] == A_EARLIER
    assert device.intake(B, B_BORN, "2025-03-14")["source"] == "server"
    server.admin("import-intake", str(tmp_path / "intake.json"), "--organisation", "Kliniek Elders")

    assert device.intake(A, A_BORN, "2025-02-01") == NONE  # the server has none up to February now
    server.stop()
    assert device.intake(A, A_BORN, "2025-02-01") == NONE  # January left the cache
    offline = device.intake(A, A_BORN, "2025-03-14")
    assert offline["source"] == "cache" and offline["values"] == A_NEWEST  # March was not asked about
    assert device.intake(B, B_BORN, "2025-03-14")["values"] == B_VALUES  # another patient is untouched
