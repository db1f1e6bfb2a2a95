"""The device side of ownership, with the real command line and a real server.

A device sends every unconfirmed revision in order (the server takes only the next one),
under the id the server gave it at enrolment. A change the server refuses because the
record belongs to another device is shown with a clear Dutch reason and nothing is lost.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, text

from desktop.registry import Actor, Registry
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


def registry(device: Device) -> Registry:
    return Registry(device.data / "bundelassistent.sqlite3", Actor("test", "suo"))


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
    assert "verstuurd: 4 (accepted 4)" in result.stdout
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
