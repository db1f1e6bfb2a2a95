"""Enrolment by one-time code, device tokens, revocation and the protocol version header."""

import time
from pathlib import Path

import requests

from sync.protocol import PROTOCOL_HEADER, protocol_headers


def enroll(server, code, name="kamer 1"):
    return requests.post(f"{server.url}/v1/enroll", headers=protocol_headers(),
                         json={"code": code, "device_name": name, "location": "Zeist"}, timeout=30)


def test_health_answers_without_token_and_names_the_database(server):
    body = requests.get(f"{server.url}/v1/health", timeout=10).json()
    assert body == {"status": "ok", "server_version": body["server_version"], "protocol_version": 2,
                    "database": server.kind}


def test_a_code_enrolls_one_device_once_and_its_token_works(server):
    code = server.enroll_code("--location", "Zeist")
    first = enroll(server, code)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["device_id"] and len(body["token"]) >= 40 and body["server_time"]
    again = enroll(server, code, name="kamer 2")
    assert again.status_code == 403
    assert again.json()["code"] == "enrollment_code_used"
    # lower case and without dashes is the same code, and still used
    assert enroll(server, code.lower().replace("-", "")).json()["code"] == "enrollment_code_used"
    changes = requests.get(f"{server.url}/v1/changes", headers=protocol_headers(body["token"]), timeout=10)
    assert changes.status_code == 200
    listing = server.admin("devices").stdout
    assert body["device_id"] in listing and "kamer 1" in listing and "actief" in listing


def test_an_unknown_or_expired_code_is_refused(server):
    assert enroll(server, "AAAA-BBBB-CCCC").json()["code"] == "enrollment_code_invalid"
    code = server.enroll_code("--valid-hours", "0.0003")  # about one second
    time.sleep(1.5)
    refused = enroll(server, code)
    assert refused.status_code == 403
    assert refused.json() == {"code": "enrollment_code_expired", "message": refused.json()["message"]}


def test_codes_and_tokens_are_stored_only_as_hashes(server):
    code = server.enroll_code()
    token = enroll(server, code).json()["token"]
    server.stop()
    if server.kind == "sqlite":
        raw = Path(server.database_url.removeprefix("sqlite:///")).read_bytes()
        assert code.encode() not in raw and code.replace("-", "").encode() not in raw
        assert token.encode() not in raw


def test_revoked_device_gets_401_device_revoked_at_its_next_request(server):
    client = server.enroll()
    assert client.changes().status_code == 200
    server.admin("revoke", client.device_id)
    response = client.changes()
    assert response.status_code == 401
    assert response.json()["code"] == "device_revoked"
    assert client.push([]).json()["code"] == "device_revoked"
    assert "ingetrokken" in server.admin("devices").stdout
    again = server.admin("revoke", client.device_id, check=False)
    assert again.returncode == 2 and again.stderr.startswith("fout: ")


def test_missing_or_unknown_token_is_401_unauthorized(server):
    headers = protocol_headers()
    assert requests.get(f"{server.url}/v1/changes", headers=headers, timeout=10).json()["code"] == "unauthorized"
    response = requests.get(f"{server.url}/v1/changes", headers=protocol_headers("not-a-token"), timeout=10)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_missing_or_other_protocol_version_is_426(server):
    client = server.enroll()
    for headers in ({}, {PROTOCOL_HEADER: "1"}, {PROTOCOL_HEADER: "3"}, {PROTOCOL_HEADER: "abc"}):
        response = requests.get(f"{server.url}/v1/changes", timeout=10,
                                headers={"Authorization": f"Bearer {client.token}", **headers})
        assert response.status_code == 426
        assert response.json()["code"] == "protocol_version"
        assert response.headers[PROTOCOL_HEADER] == "2"
    response = requests.post(f"{server.url}/v1/enroll", json={"code": "x", "device_name": "y"}, timeout=10)
    assert response.status_code == 426
