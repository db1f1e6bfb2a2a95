"""The real server as a subprocess, its admin CLI, and a small protocol client for tests."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from pgcluster import free_port
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION, protocol_headers

REPO = Path(__file__).resolve().parents[2]
BIRTH_DATE = "1971-06-02"  # the birth date of `record` and of the test coverage files
SERVER = [sys.executable, "-m", "sync.server.cli"]
SHIPPED_BUNDLES = REPO / "resources" / "bundles"


class ServerDied(RuntimeError):
    def __init__(self, returncode: int, log: str):
        super().__init__(f"server stopte met code {returncode}:\n{log}")
        self.returncode = returncode


class ServerProcess:
    """`python -m sync.server.cli --database … serve` on a free port.

    With `bundles` (the default) the shipped bundle definitions are imported first, as IT
    does before devices push: the server re-checks every record against them.
    """

    def __init__(self, database_url: str, folder: Path, kind: str, serve_args: tuple[str, ...] = (),
                 bundles: bool = True):
        self.database_url = database_url
        self.serve_args = list(serve_args)  # e.g. ("--lookup-rate", "6")
        self.import_bundles = bundles
        self.folder = Path(folder)
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = self.folder / f"server-{self.port}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.env.pop("BUNDELASSISTENT_SERVER_DATABASE", None)

    def start(self, timeout: float = 30) -> ServerProcess:
        try:
            return self._start(timeout)
        except ServerDied as died:
            # Other test suites on a shared machine may signal stray server processes;
            # a start that died of a signal we did not send is tried once more.
            if died.returncode >= 0:
                raise
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            return self._start(timeout)

    def _start(self, timeout: float) -> ServerProcess:
        if self.import_bundles:
            self.admin("import-bundles", str(SHIPPED_BUNDLES))
            self.import_bundles = False
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the server process, closed here after
        self.process = subprocess.Popen(
            SERVER + ["--database", self.database_url, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                      *self.serve_args],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerDied(self.process.returncode, self.log())
            try:
                if requests.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server startte niet binnen {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — like a power cut of the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()

    # -- admin CLI -------------------------------------------------------------------------
    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(SERVER + ["--database", self.database_url, *args], cwd=REPO, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} gaf {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def export_rows(self, *columns: str) -> list[dict]:
        """The CSV export (insurer profile, or exactly `columns`) as one dict per row."""
        return read_csv(self.admin("export", *(("--columns", ",".join(columns)) if columns else ())).stdout)

    def enroll_code(self, *args: str) -> str:
        return self.admin("enroll-code", *args).stdout.strip().splitlines()[-1]

    def enroll(self, name: str = "spreekkamer", location: str | None = "Utrecht",
               organisation: str | None = None) -> Client:
        code = self.enroll_code(*(["--organisation", organisation] if organisation else []))
        response = requests.post(f"{self.url}/v1/enroll", headers=protocol_headers(),
                                 json={"code": code, "device_name": name, "location": location}, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        return Client(self.url, body["token"], body["device_id"])


class Client:
    """The protocol as a device speaks it (requests, JSON, the version header)."""

    def __init__(self, url: str, token: str, device_id: str):
        self.url, self.token, self.device_id = url, token, device_id
        self.session = requests.Session()
        self.session.headers.update(protocol_headers(token))

    def push(self, records: list[dict], timeout: float = 60) -> requests.Response:
        """Push as this device: a record whose `device_id` is THIS_DEVICE gets this device's id."""
        records = [dict(r, device_id=self.device_id) if isinstance(r, dict) and r.get("device_id") == THIS_DEVICE
                   else r for r in records]
        return self.session.post(f"{self.url}/v1/inclusions/push", json={"records": records}, timeout=timeout)

    def push_ok(self, records: list[dict]) -> list[dict]:
        response = self.push(records)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def changes(self, cursor: int = 0, limit: int | None = None) -> requests.Response:
        params = {"cursor": cursor} | ({"limit": limit} if limit else {})
        return self.session.get(f"{self.url}/v1/changes", params=params, timeout=30)

    def all_changes(self, cursor: int = 0, limit: int = 1000) -> tuple[list[dict], int]:
        seen: list[dict] = []
        while True:
            response = self.changes(cursor, limit)
            assert response.status_code == 200, response.text
            body = response.json()
            seen += body["changes"]
            cursor = body["next_cursor"]
            if not body["more"]:
                return seen, cursor

    def lookup(self, bsn: str, on: str = "2025-03-14", birth_date: str = BIRTH_DATE) -> requests.Response:
        return self.session.post(f"{self.url}/v1/coverage/lookup", json={"bsn": bsn, "birth_date": birth_date,
                                                                         "on": on}, timeout=30)


class OtherVersionServer:
    """A server of another protocol version on `port`, as a release we cannot run here
    answers: 426 with its version in the header and its own Dutch message (the text of
    protocol 1's server), health with its version. Only for the upgrade messages."""

    V1_MESSAGE = ("Deze server spreekt protocolversie 1; het verzoek had een andere versie. "
                  "Werk Bundelassistent bij.")

    def __init__(self, port: int, version: int = 1):
        import http.server
        import json
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path.startswith("/v1/health"):
                    status, body = 200, {"status": "ok", "server_version": "oud", "protocol_version": version,
                                         "database": "sqlite"}
                else:
                    status, body = 426, {"code": "protocol_version",
                                         "message": OtherVersionServer.V1_MESSAGE.replace("1", str(version), 1)}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header(PROTOCOL_HEADER, str(version))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> OtherVersionServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def query(database_url: str, sql: str) -> list:
    """Rows of one SQL query on the server's database (SQLite or PostgreSQL)."""
    from sqlalchemy import create_engine, text

    from sync.server.config import normalize_database_url

    engine = create_engine(normalize_database_url(database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def read_csv(text: str) -> list[dict]:
    """An export as Excel would split it: BOM, `;` between cells."""
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


THIS_DEVICE = "this-device"  # a placeholder for the id of whichever device pushes the record


def record(bsn: str, **changes) -> dict:
    """A wire record as the desktop registry would push it (revision 1, registered).

    `device_id` is THIS_DEVICE unless given: `Client.push` puts in the pushing device's id.
    """
    now = "2025-03-14T09:30:00.000Z"
    base = {
        "id": str(uuid.uuid4()), "revision": 1, "state": "registered", "bundle": "hand-wrist",
        "bundle_version": "2024.1", "condition": "CTS", "diagnosis": "G56.0", "side": "R", "episode_side": None,
        "bsn": bsn, "birth_date": BIRTH_DATE, "name": "J. Jansen", "insurer_uzovi": "3311",
        "insurer_source": "server", "insurer_checked_at": now, "eligibility_status": "eligible",
        "eligibility_rules": [{"kind": "insurer", "outcome": "pass"}, {"kind": "age", "outcome": "pass"}],
        "explained_by": "SUO Bakker", "explained_at": now, "explanation_language": "nl",
        "handout_printed": True, "agreed": True, "clinician_agb": "01234567", "location": "Utrecht",
        "inclusion_date": "2025-03-14", "end_date": "2026-03-13", "initial_treatment": "conservative",
        "device_id": THIS_DEVICE, "user": "a.suo", "created_at": now, "updated_at": now,
        "withdrawn_at": None, "withdrawal_reason": None,
    }
    base.update(changes)
    return base


def withdrawn(original: dict, reason: str = "patiënt ziet af van de bundel") -> dict:
    at = (dt.datetime(2025, 3, 15, 10, 0, tzinfo=dt.UTC)).isoformat()
    return dict(original, revision=original["revision"] + 1, state="withdrawn", updated_at=at, withdrawn_at=at,
                withdrawal_reason=reason)


__all__ = [
    "BIRTH_DATE",
    "PROTOCOL_HEADER",
    "PROTOCOL_VERSION",
    "Client",
    "OtherVersionServer",
    "ServerProcess",
    "read_csv",
    "record",
    "withdrawn",
]
