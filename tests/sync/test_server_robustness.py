"""No malformed input gets a 5xx, every error is a JSON ErrorBody, and nothing leaks a
traceback or a BSN: an API fuzzer (schemathesis) against the real server, raw garbage on
the socket, a database that goes away, and a route that fails inside."""

import json
import logging
import shutil
import socket
import subprocess
import sys

import pytest
import requests

from helpers import valid_bsns
from serverproc import PROTOCOL_VERSION, REPO, record

FUZZ_CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,unsupported_method"


def test_schemathesis_finds_no_server_error(server, tmp_path):
    client = server.enroll()
    client.push_ok([record(bsn) for bsn in valid_bsns(3, start=800000000)])
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
               "-H", f"Authorization: Bearer {client.token}",
               "-H", f"X-Bundelassistent-Protocol: {PROTOCOL_VERSION}",
               "--checks", FUZZ_CHECKS, "--max-examples", "40", "--seed", "20250314",
               "--phases", "examples,coverage,fuzzing", "--request-timeout", "30"]
    if shutil.which("schemathesis", path=str(REPO / ".venv" / "bin")) is None:
        command[1:3] = ["-m", "schemathesis.cli"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    failures = result.stdout[result.stdout.find("FAILURES"):][:8000]
    assert result.returncode == 0, failures + result.stderr[-2000:] + server.log()[-4000:]
    assert "Traceback" not in server.log()
    assert client.changes().status_code == 200  # still serving


def raw_request(server, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_garbage_gets_json_errors_never_a_5xx_or_a_traceback(server):
    client = server.enroll()
    url = f"{server.url}/v1/inclusions/push"
    bombs = [
        b"[" * 100_000 + b"]" * 100_000,                       # nesting deeper than the parser allows
        b'{"records": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}",
        b'{"records": [NaN, Infinity]}',
        b'{"records": [{"id": "' + b"\xff" * 10 + b'"}]}',
        b"\x00\x01\x02",
        json.dumps({"records": [{"id": "1" * 10_000, "revision": 10**40}]}).encode(),
        json.dumps({"records": [dict(record(valid_bsns(1)[0]), eligibility_rules=[{}] * 101)]}).encode(),
    ]
    for body in bombs:
        for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
            response = client.session.post(url, data=body, headers={"Content-Type": content_type}, timeout=30)
            assert response.status_code < 500, (body[:40], response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert "Traceback" not in response.text
    # values a database would choke on (PostgreSQL text has no NUL; dates near year 1 or 9999)
    bsn = valid_bsns(1, start=830000000)[0]
    nasty = [record(bsn, condition="CTS\x00"), record(bsn, eligibility_rules=[{"k\x00": "v"}]),
             record(bsn, created_at="0001-01-01T00:00:00+05:00"), record(bsn, updated_at="9999-12-31T23:59:59-05:00"),
             record(bsn, inclusion_date="0001-01-01", birth_date="0001-01-01", end_date="9999-12-31")]
    results = client.push_ok(nasty)
    assert [r["result"] for r in results] == ["rejected"] * 5
    # dates the database can hold but no patient has: refused by the rules, not by a 5xx
    assert results[4]["code"] == "rule_failed" and "regel einddatum" in results[4]["reason"]
    response = requests.post(f"{server.url}/v1/enroll", timeout=10,
                             headers={"X-Bundelassistent-Protocol": str(PROTOCOL_VERSION)},
                             json={"code": "AAAA\x00", "device_name": "x\x00"})
    assert response.status_code == 422
    for body in (b"[" * 100_000, b'{"code": ' * 1000, b"\xff\xfe"):
        response = requests.post(f"{server.url}/v1/enroll", data=body, timeout=30,
                                 headers={"X-Bundelassistent-Protocol": str(PROTOCOL_VERSION),
                                          "Content-Type": "application/json"})
        assert response.status_code in (400, 422), response.text
    for path in ("/v1/changes?cursor=-1", "/v1/changes?cursor=abc", "/v1/changes?limit=100000",
                 "/v1/changes?cursor=99999999999999999999999", "/v1/%00", "/v1/changes/../../etc/passwd"):
        response = client.session.get(f"{server.url}{path}", timeout=10)
        assert 400 <= response.status_code < 500 and response.json()["code"], (path, response.text)
    assert client.session.delete(f"{server.url}/v1/changes", timeout=10).status_code == 405
    for payload in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"POST /v1/inclusions/push HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                    b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100_000 + b"\r\n\r\n"):
        answer = raw_request(server, payload)
        assert not answer.startswith(b"HTTP/1.1 5"), answer[:200]
        assert b"Traceback" not in answer
    assert client.changes().status_code == 200
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_database_that_goes_away_is_a_503_json_error_and_comes_back(server, postgres_cluster):
    import psycopg
    client = server.enroll()
    database = server.database_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database])
        bsn = valid_bsns(1, start=810000000)[0]
        response = client.push([record(bsn)])
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "unavailable" and response.headers["Retry-After"]
        assert requests.get(f"{server.url}/v1/health", timeout=10).status_code == 503
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    assert client.push_ok([record(bsn)])[0]["result"] == "accepted"  # the client simply retries
    assert "Traceback" not in server.log() and bsn not in server.log()


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_an_unexpected_failure_inside_is_a_500_error_body_and_the_log_has_no_values(tmp_path, caplog):
    from starlette.testclient import TestClient

    from sync.server.app import create_app
    from sync.server.config import Settings

    app = create_app(Settings.from_url(f"sqlite:///{tmp_path / 's.sqlite3'}"))
    bsn = valid_bsns(1, start=820000000)[0]

    @app.get("/v1/kapot")
    def broken():
        raise ValueError(f"fout met patiënt {bsn}")

    with caplog.at_level(logging.ERROR, logger="bundelassistent.server"):
        response = TestClient(app, raise_server_exceptions=False).get(
            "/v1/kapot", headers={"X-Bundelassistent-Protocol": str(PROTOCOL_VERSION)})
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "message": response.json()["message"]}
    assert "Traceback" not in response.text and bsn not in response.text
    assert "ValueError" in caplog.text and bsn not in caplog.text
    app.state.storage.dispose()
