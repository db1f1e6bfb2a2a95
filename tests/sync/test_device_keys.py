"""Device key escrow: a device deposits its database key with the real server, IT reads it
back with `device-key`, and a device whose keyring was lost gets its unsynced records back."""

from __future__ import annotations

import subprocess
import sys

import requests
import sqlalchemy

from helpers import CLI, valid_bsns
from sync.protocol import protocol_headers
from test_sync_devices import Device

BSNS = valid_bsns(3, start=430_000_000)

KEYRING = """import sys
from pathlib import Path
import keyring
from desktop.store import keys
path = Path(sys.argv[2])
if sys.argv[1] == "read":
    print(keys.load(path).key)
else:
    keyring.delete_password(keys.SERVICE, keys.entry_name(path))
"""


def device_keyring(device: Device, action: str) -> str:
    result = subprocess.run([sys.executable, "-c", KEYRING, action, str(device.data / "bundelassistent.sqlite3")],
                            capture_output=True, text=True, timeout=60, env=device.env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def server_device_id(device: Device) -> str:
    [(value,)] = device.query("SELECT value FROM meta WHERE key = 'server_device_id'")
    return value


def server_rows(server, sql: str) -> list:
    engine = sqlalchemy.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(sql))
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def test_enrolment_deposits_the_key_sealed_and_it_device_key_gives_it_back_audited(tmp_path, server):
    device = Device("kamer1", tmp_path, server).enroll()
    key = device_keyring(device, "read")
    device_id = server_device_id(device)
    [(sealed,)] = server_rows(server, f"SELECT sealed_key FROM device_keys WHERE device_id = '{device_id}'")
    assert key not in sealed and bytes.fromhex(key).hex() not in sealed.lower()

    shown = server.admin("device-key", device_id)
    assert shown.stdout.strip().splitlines()[-1] == key
    actions = [row[0] for row in server_rows(server, "SELECT action FROM audit_log ORDER BY id")]
    assert "device_key_deposit" in actions and actions[-1] == "device_key_read"
    assert ("key_deposit",) in device.query("SELECT action FROM audit_log")


def test_a_deposit_needs_the_device_token_and_a_well_formed_key(server):
    url = f"{server.url}/v1/device/key"
    assert requests.post(url, headers=protocol_headers(), json={"key": "ab" * 32}, timeout=30).status_code == 401
    client = server.enroll()
    bad = requests.post(url, headers=protocol_headers(client.token), json={"key": "xyz"}, timeout=30)
    assert bad.status_code == 422
    first = requests.post(url, headers=protocol_headers(client.token), json={"key": "ab" * 32}, timeout=30)
    again = requests.post(url, headers=protocol_headers(client.token), json={"key": "ab" * 32}, timeout=30)
    assert (first.json()["stored"], again.json()["stored"]) == (True, False)
    unknown = server.admin("device-key", "00000000-0000-0000-0000-000000000000", check=False)
    assert unknown.returncode == 2 and "bestaat niet" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_device_enrolled_before_key_escrow_deposits_at_its_next_sync(tmp_path, server):
    device = Device("oud", tmp_path, server).enroll()
    device_id = server_device_id(device)
    server_rows(server, "DELETE FROM device_keys")  # as if enrolled by the previous version
    subprocess.run([sys.executable, "-c", CLEAR_RECEIPT, str(device.data / "bundelassistent.sqlite3")],
                   check=True, timeout=60, env=device.env)
    assert device.sync().returncode == 0
    assert server.admin("device-key", device_id).stdout.strip().splitlines()[-1] == device_keyring(device, "read")


CLEAR_RECEIPT = """import sys
from pathlib import Path
from desktop.store import keys
from desktop.store.database import raw_connect
db = raw_connect(Path(sys.argv[1]), keys.load(Path(sys.argv[1])))
db.execute("DELETE FROM meta WHERE key = 'key_deposited'")
db.commit()
"""


def test_a_lost_keyring_is_recovered_with_the_key_from_the_server_and_nothing_unsynced_is_lost(tmp_path, server):
    device = Device("kamer2", tmp_path, server).enroll()
    ids = device.register(BSNS)  # registered, not yet synced
    device_keyring(device, "delete")  # the user's keyring is gone (new profile, reset)
    lost = device.run("inclusions", "--json")
    assert lost.returncode == 2 and "recover-key" in lost.stderr

    key = server.admin("device-key", only_device_on(server)).stdout.strip().splitlines()[-1]
    recovered = subprocess.run([*device_cli(device), "recover-key"], input=key + "\n", capture_output=True,
                               text=True, timeout=120, env=device.env)
    assert recovered.returncode == 0, recovered.stderr
    assert sorted(device.records()) == sorted(ids)
    assert device.sync().returncode == 0  # and the records still go out
    assert all(record["synced_at"] for record in device.records().values())


def only_device_on(server) -> str:
    [(device_id,)] = server_rows(server, "SELECT id FROM devices")
    return device_id


def device_cli(device: Device) -> list[str]:
    return [*CLI, "--data-dir", str(device.data)]


def test_another_key_file_cannot_open_the_stored_keys(tmp_path, server):
    device = Device("kamer3", tmp_path, server).enroll()
    other = tmp_path / "other.key"
    other.write_text("A" * 43 + "=\n", encoding="ascii")
    other.chmod(0o600)
    refused = server.admin("--key-file", str(other), "device-key", server_device_id(device), check=False)
    assert refused.returncode == 2 and "sleutelbestand" in refused.stderr and "Traceback" not in refused.stderr
    other.chmod(0o644)
    loose = server.admin("--key-file", str(other), "device-key", server_device_id(device), check=False)
    assert loose.returncode == 2 and "leesbaar voor anderen" in loose.stderr
