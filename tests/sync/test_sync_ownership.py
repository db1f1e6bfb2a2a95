"""The device side of ownership, with the real command line and a real server.

A device sends every unconfirmed revision in order (the server takes only the next one),
under the id the server gave it at enrolment. A change the server refuses because the
record belongs to another device is shown with a clear Dutch reason and nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager

import keyring
from keyrings.alt.file import PlaintextKeyring
from sqlalchemy import create_engine, text

from desktop.store.inclusions import Actor, Registry
from helpers import valid_bsns
from sync.server.config import normalize_database_url
from test_sync_devices import Device


def server_rows(server, inclusion_id: str) -> list[tuple]:
    engine = create_engine(normalize_database_url(server.database_url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(
                "SELECT i.revision, i.state, i.location, i.device_id, i.owner_device FROM inclusions i "
                "WHERE i.id = :id"), {"id": inclusion_id})]
    finally:
        engine.dispose()


@contextmanager
def registry(device: Device):
    """The device's encrypted register opened here, with the device's own keyring file."""
    saved, previous = dict(os.environ), keyring.get_keyring()
    os.environ.update({key: device.env[key] for key in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")})
    keyring.set_keyring(PlaintextKeyring())
    try:
        with Registry(device.data / "bundelassistent.sqlite3", Actor("test", "suo")) as local:
            yield local
    finally:
        keyring.set_keyring(previous)
        os.environ.clear()
        os.environ.update(saved)


def test_changes_made_offline_are_sent_revision_by_revision_under_the_enrolled_id(tmp_path, server):
    device = Device("kamer1", tmp_path, server).enroll()
    enrolled_id = device.query("SELECT value FROM meta WHERE key = 'server_device_id'")[0][0]
    [corrected] = device.register(valid_bsns(1, start=100_000_000 + 70 * 100))
    assert device.sync().returncode == 0
    with registry(device) as local:  # two changes while offline: revision 2 and 3
        local.correct(corrected, {"location": "Zeist"}, "verkeerde locatie")
    assert device.run("withdraw", corrected, "--reason", "patiënt ziet af").returncode == 0
    [offline] = device.register(valid_bsns(1, start=100_000_000 + 71 * 100))
    assert device.run("withdraw", offline, "--reason", "dubbel ingevoerd").returncode == 0

    result = device.sync()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verstuurd: 2 (accepted 2)" in result.stdout  # two inclusions, their four revisions in order
    assert server_rows(server, corrected) == [(3, "withdrawn", "Zeist", enrolled_id, enrolled_id)]
    assert server_rows(server, offline) == [(2, "withdrawn", "Utrecht", enrolled_id, enrolled_id)]
    assert device.sync().returncode == 0 and "verstuurd: 0" in device.sync().stdout


def test_a_change_refused_as_not_owner_is_explained_in_dutch_and_nothing_is_lost(tmp_path, server):
    device = Device("kamer1", tmp_path, server).enroll()
    first_id = device.query("SELECT value FROM meta WHERE key = 'server_device_id'")[0][0]
    [inclusion] = device.register(valid_bsns(1, start=100_000_000 + 72 * 100))
    assert device.sync().returncode == 0
    device.enroll()  # enrolled again (a new code): the server sees a new device
    assert device.query("SELECT value FROM meta WHERE key = 'server_device_id'")[0][0] != first_id
    assert device.run("withdraw", inclusion, "--reason", "verkeerde patiënt").returncode == 0

    result = device.sync()
    assert result.returncode == 1
    assert f"geweigerd: {inclusion}" in result.stdout
    record = device.records()[inclusion]
    assert record["state"] == "withdrawn" and record["server_result"] == "rejected"
    assert "ander apparaat" in record["server_message"] and "bewaard" in record["server_message"]
    assert record["withdrawal_reason"] == "verkeerde patiënt"
    with registry(device) as local:
        assert [row["revision"] for row in local.history(inclusion)] == [1, 2]
        assert inclusion in [row["id"] for row in local.worklist("problems", dt.date.today())]
    # the server still has revision 1 of the first enrolment, unchanged
    assert server_rows(server, inclusion) == [(1, "registered", "Utrecht", first_id, first_id)]
