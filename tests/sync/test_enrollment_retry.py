"""Enrolment never burns a code: the keyring is checked before the code is spent, and a
device that could not store its token may use the same code again for a few minutes
(with its own retry key; the lost token stops working). Real server, real CLI."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
from pathlib import Path

import requests
from sqlalchemy import create_engine, select, update

from helpers import CLI, valid_bsns
from serverproc import ServerProcess
from sync.protocol import ENROLL_RETRY_MINUTES, protocol_headers
from sync.server import tables as t
from test_sync_devices import Device

HERE = Path(__file__).parent


def enroll(server, code, retry_key=None, name="kamer 1"):
    body = {"code": code, "device_name": name} | ({"retry_key": retry_key} if retry_key else {})
    return requests.post(f"{server.url}/v1/enroll", headers=protocol_headers(), json=body, timeout=30)


def changes_status(server, token) -> int:
    return requests.get(f"{server.url}/v1/changes", headers=protocol_headers(token), timeout=30).status_code


def run_with(device: Device, env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "--data-dir", str(device.data), *args], capture_output=True, text=True,
                          timeout=300, env=env)


def audit_results(server: ServerProcess) -> list[str]:
    engine = create_engine(server.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.audit_log.c.outcome).where(t.audit_log.c.action == "enroll")
                            .order_by(t.audit_log.c.id)).scalars().all()
    engine.dispose()
    return rows


def test_the_same_code_and_retry_key_re_enrol_the_same_device_and_the_lost_token_stops_working(server):
    code, key = server.enroll_code(), secrets.token_urlsafe(32)
    first = enroll(server, code, key)
    assert first.status_code == 200, first.text
    again = enroll(server, code, key)
    assert again.status_code == 200, again.text
    assert again.json()["device_id"] == first.json()["device_id"]
    assert again.json()["token"] != first.json()["token"]
    assert changes_status(server, first.json()["token"]) == 401
    assert changes_status(server, again.json()["token"]) == 200
    assert len([line for line in server.admin("devices").stdout.splitlines() if "kamer 1" in line]) == 1
    assert audit_results(server) == ["ok", "reissued"]


def test_without_the_key_with_another_key_after_the_window_or_once_revoked_the_code_stays_used(server):
    code, key = server.enroll_code(), secrets.token_urlsafe(32)
    device_id = enroll(server, code, key).json()["device_id"]
    assert enroll(server, code).json()["code"] == "enrollment_code_used"
    assert enroll(server, code, secrets.token_urlsafe(32)).json()["code"] == "enrollment_code_used"
    engine = create_engine(server.database_url)
    with engine.begin() as conn:
        late = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=ENROLL_RETRY_MINUTES + 1)
        conn.execute(update(t.enrollment_codes).values(used_at=late))
    assert enroll(server, code, key).json()["code"] == "enrollment_code_used"
    with engine.begin() as conn:
        conn.execute(update(t.enrollment_codes).values(used_at=dt.datetime.now(dt.UTC)))
    engine.dispose()
    server.admin("revoke", device_id)
    assert enroll(server, code, key).json()["code"] == "enrollment_code_used"
    assert audit_results(server) == ["ok"] + ["enrollment_code_used"] * 4


def test_a_broken_keyring_is_found_before_the_code_is_spent(tmp_path, server):
    device = Device("kamer1", tmp_path, server)
    code = server.enroll_code()
    broken = dict(device.env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    refused = run_with(device, broken, "enroll", "--server", server.url, "--code", code)
    assert refused.returncode == 2
    # the encrypted register needs the keyring too, so the refusal may come from opening it
    assert refused.stderr.startswith("fout: ") and "sleutelbos" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert audit_results(server) == []  # the server never heard of it
    assert device.run("enroll", "--server", server.url, "--code", code).returncode == 0


def test_a_token_the_keyring_refuses_after_the_server_answered_leaves_the_code_usable(tmp_path, server):
    device = Device("kamer1", tmp_path, server)
    code = server.enroll_code()
    marker = tmp_path / "keyring-full"
    marker.touch()
    flaky = dict(device.env, PYTHON_KEYRING_BACKEND="flaky_keyring.TokenRefusingKeyring",
                 REFUSE_TOKENS_WHILE=str(marker),
                 PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    failed = run_with(device, flaky, "enroll", "--server", server.url, "--code", code)
    assert failed.returncode == 2
    assert "het token kon niet in de sleutelbos worden bewaard" in failed.stderr
    assert f"dezelfde koppelcode werkt nog {ENROLL_RETRY_MINUTES} minuten" in failed.stderr
    assert "Traceback" not in failed.stderr
    marker.unlink()  # IT fixed the keyring
    retried = run_with(device, flaky, "enroll", "--server", server.url, "--code", code)
    assert retried.returncode == 0, retried.stderr
    device.env = flaky
    device.register(valid_bsns(1, start=100_000_000 + 8_000))
    synced = run_with(device, flaky, "sync", "--once")
    assert synced.returncode == 0 and "verstuurd: 1 (accepted 1)" in synced.stdout
    assert audit_results(server) == ["ok", "reissued"]
