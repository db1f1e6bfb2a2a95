"""Devices and a real central server: enrol, push, pull, duplicates, outages, revocation.

Every device is the real command line with its own data folder and its own keyring file
(as on its own PC); the server is the real `bundelassistent-server` on 127.0.0.1, on
SQLite and on PostgreSQL (the `server` fixture in conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from helpers import CLI, inclusion, jsonl, valid_bsns
from serverproc import OtherVersionServer, ServerProcess


class Device:
    def __init__(self, name: str, tmp_path, server: ServerProcess):
        self.folder = tmp_path / name
        self.data = self.folder / "data"
        self.server = server
        home = self.folder / "home"
        self.env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "share"),
                        XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state"))

    def run(self, *args, timeout=300) -> subprocess.CompletedProcess:
        return subprocess.run([*CLI, "--data-dir", str(self.data), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, env=self.env)

    def start(self, *args) -> subprocess.Popen:
        return subprocess.Popen([*CLI, "--data-dir", str(self.data), *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)

    def enroll(self) -> Device:
        result = self.run("enroll", "--server", self.server.url, "--code", self.server.enroll_code())
        assert result.returncode == 0, result.stderr
        return self

    def register(self, bsns, **changes) -> list[str]:
        path = self.folder / "batch.jsonl"
        path.write_text(jsonl([inclusion(bsn, **changes) for bsn in bsns]), encoding="utf-8")
        result = self.run("register", "--jsonl", path)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    def sync(self) -> subprocess.CompletedProcess:
        return self.run("sync", "--once")

    def records(self) -> dict[str, dict]:
        result = self.run("inclusions", "--json", "--with-identifiers")
        assert result.returncode == 0, result.stderr
        return {record["id"]: record for record in json.loads(result.stdout)}

    def query(self, sql: str, params=()) -> list[tuple]:
        """Read the device's encrypted register with its own key (its own keyring), as the app does."""
        result = subprocess.run([sys.executable, "-c", QUERY, str(self.data / "bundelassistent.sqlite3"), sql,
                                 json.dumps(list(params))], capture_output=True, text=True, timeout=60, env=self.env)
        assert result.returncode == 0, result.stderr
        return [tuple(row) for row in json.loads(result.stdout)]


QUERY = """import json, sys
from pathlib import Path
from desktop.store import keys
from desktop.store.database import raw_connect
db = raw_connect(Path(sys.argv[1]), keys.load(Path(sys.argv[1])))
print(json.dumps(db.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()))
"""


def exported_ids(server: ServerProcess) -> list[str]:
    return [row["inclusion_id"] for row in server.export_rows()]


def test_enrolled_device_pushes_its_inclusions_once_and_marks_them_synced(tmp_path, server):
    device = Device("kamer1", tmp_path, server).enroll()
    ids = device.register(valid_bsns(3, start=100_000_000 + 10 * 100))
    result = device.sync()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verstuurd: 3 (accepted 3)" in result.stdout
    records = device.records()
    assert {records[i]["state"] for i in ids} == {"synced"}
    assert {records[i]["server_result"] for i in ids} == {"accepted"}
    again = device.sync()
    assert again.returncode == 0 and "verstuurd: 0" in again.stdout
    assert sorted(exported_ids(server)) == sorted(ids)
    assert device.query("SELECT count(*) FROM audit_log WHERE action = 'sync'")[0][0] == 3


def test_the_same_episode_in_two_rooms_is_accepted_once_and_flagged_duplicate_in_the_other(tmp_path, server):
    bsn, = valid_bsns(1, start=100_000_000 + 20 * 100)
    first, second = Device("kamer1", tmp_path, server).enroll(), Device("kamer2", tmp_path, server).enroll()
    [kept] = first.register([bsn], location="Hilversum")
    [late] = second.register([bsn], location="Utrecht")
    assert first.sync().returncode == 0
    result = second.sync()
    assert result.returncode == 0, result.stdout  # a duplicate is an answer, not a failure
    assert "duplicate 1" in result.stdout
    flagged = second.records()[late]
    assert flagged["state"] == "duplicate" and flagged["duplicate_of"] == kept
    assert "Hilversum" in flagged["server_message"]
    assert exported_ids(server) == [kept]


def test_other_rooms_inclusions_arrive_with_the_pull_and_block_a_new_inclusion_offline(tmp_path, server):
    bsn, = valid_bsns(1, start=100_000_000 + 30 * 100)
    first, second = Device("kamer1", tmp_path, server).enroll(), Device("kamer2", tmp_path, server).enroll()
    first.register([bsn])
    assert first.sync().returncode == 0
    pulled = second.sync()
    assert pulled.returncode == 0  # the feed also brings the server's bundle definitions
    assert second.query("SELECT bsn FROM remote_inclusions") == [(bsn,)]
    server.stop()  # the second room is offline now, and still knows
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"bundle": "hand-wrist", "bsn": bsn, "inclusion_date": "2025-06-01",
                                "birth_date": "1971-06-02", "diagnosis": "G56.0", "side": "R",
                                "insurer_uzovi": "3311"}), encoding="utf-8")
    decision = json.loads(second.run("check-eligibility", "--json", case).stdout)
    assert decision["status"] == "not_eligible" and decision["failed_rules"] == ["active_episode"]


def test_a_withdrawal_is_pushed_and_frees_the_episode_for_another_room(tmp_path, server):
    bsn, = valid_bsns(1, start=100_000_000 + 40 * 100)
    first, second = Device("kamer1", tmp_path, server).enroll(), Device("kamer2", tmp_path, server).enroll()
    [withdrawn] = first.register([bsn])
    assert first.sync().returncode == 0
    assert first.run("withdraw", withdrawn, "--reason", "verkeerde patiënt").returncode == 0
    pushed = first.sync()
    assert "accepted 1" in pushed.stdout
    assert first.records()[withdrawn]["state"] == "withdrawn"
    [fresh] = second.register([bsn])
    assert "accepted 1" in second.sync().stdout
    assert second.records()[fresh]["state"] == "synced"


def test_an_unreachable_server_keeps_everything_queued_and_the_next_sync_completes(tmp_path, server):
    device = Device("kamer1", tmp_path, server).enroll()
    ids = device.register(valid_bsns(4, start=100_000_000 + 50 * 100))
    server.stop()
    failed = device.sync()
    assert failed.returncode == 1
    assert "niet bereikbaar" in failed.stdout and "nog te versturen: 4" in failed.stdout
    assert device.query("SELECT DISTINCT state FROM outbox") == [("pending",)]
    assert device.query("SELECT count(*) FROM outbox WHERE last_error LIKE '%niet bereikbaar%'")[0][0] == 4
    server.start()
    assert "accepted 4" in device.sync().stdout
    assert sorted(exported_ids(server)) == sorted(ids)


def test_a_server_not_yet_upgraded_is_reported_and_the_records_wait_for_it(tmp_path, server):
    """Devices upgraded before the server: sync --once says IT must upgrade the server,
    keeps everything queued, and completes once the server speaks the new version."""
    device = Device("kamer1", tmp_path, server).enroll()
    ids = device.register(valid_bsns(2, start=100_000_000 + 55 * 100))
    server.stop()
    with OtherVersionServer(server.port, version=1):
        result = device.sync()
        newcomer = Device("kamer2", tmp_path, server).run("enroll", "--server", server.url, "--code", "ABCD-EFGH-JKLM")
    assert result.returncode == 1
    assert "vraag IT de centrale server bij te werken" in result.stdout
    assert "server: protocolversie 1" in result.stdout and "nog te versturen: 2" in result.stdout
    assert newcomer.returncode != 0 and "vraag IT de centrale server bij te werken" in newcomer.stderr
    assert device.query("SELECT value FROM meta WHERE key = 'upgrade_problem'")[0][0]
    server.start()
    synced = device.sync()
    assert synced.returncode == 0 and "accepted 2" in synced.stdout
    assert sorted(exported_ids(server)) == sorted(ids)
    assert device.query("SELECT value FROM meta WHERE key = 'upgrade_problem'") == [(None,)]


def test_a_revoked_device_stops_with_an_explanation_and_keeps_its_records(tmp_path, server):
    device = Device("kamer1", tmp_path, server).enroll()
    device_id = device.query("SELECT value FROM meta WHERE key = 'server_device_id'")[0][0]
    ids = device.register(valid_bsns(2, start=100_000_000 + 60 * 100))
    server.admin("revoke", device_id)
    result = device.sync()
    assert result.returncode == 1
    assert "ingetrokken" in result.stdout and "opnieuw aan" in result.stdout
    assert set(device.records()) == set(ids)
    assert device.query("SELECT value FROM meta WHERE key = 'auth_problem'")[0][0]
    device.enroll()  # a new code from IT
    assert "accepted 2" in device.sync().stdout


def test_two_devices_with_thousands_of_overlapping_inclusions_end_up_exactly_once_despite_a_server_crash(
        tmp_path, server):
    overlap = valid_bsns(300, start=100_000_000 + 1000 * 100)
    only_first = valid_bsns(1200, start=100_000_000 + 2000 * 100)
    only_second = valid_bsns(1200, start=100_000_000 + 5000 * 100)
    first, second = Device("kamer1", tmp_path, server).enroll(), Device("kamer2", tmp_path, server).enroll()
    first_ids = first.register(overlap + only_first)
    second_ids = second.register(overlap + only_second)

    syncing = [first.start("sync", "--once"), second.start("sync", "--once")]
    deadline = time.monotonic() + 120
    while first.query("SELECT count(*) FROM outbox WHERE state = 'done'")[0][0] == 0:
        assert time.monotonic() < deadline, "the first batch never came back"
        time.sleep(0.02)
    server.kill()  # mid-sync: batches in flight get no answer
    for process in syncing:
        process.communicate(timeout=120)
    assert any(process.returncode == 1 for process in syncing)
    server.start()
    for _ in range(5):  # both rooms keep syncing until their queues are empty
        results = [first.sync(), second.sync()]
        if all("nog te versturen: 0" in r.stdout for r in results):
            break
    assert all(r.returncode == 0 for r in results), [r.stdout for r in results]

    exported = exported_ids(server)
    assert len(exported) == len(set(exported)) == 300 + 1200 + 1200
    local = {**first.records(), **second.records()}
    assert len(local) == len(first_ids) + len(second_ids)  # nothing lost on either device
    assert set(exported) <= set(local)
    by_bsn: dict[str, list[dict]] = {}
    for record in local.values():
        by_bsn.setdefault(record["bsn"], []).append(record)
    for bsn in overlap:
        states = sorted(record["state"] for record in by_bsn[bsn])
        assert states == ["duplicate", "synced"], bsn
        [kept] = [r for r in by_bsn[bsn] if r["state"] == "synced"]
        [flagged] = [r for r in by_bsn[bsn] if r["state"] == "duplicate"]
        assert flagged["duplicate_of"] == kept["id"] and kept["id"] in exported
    single = [r for bsn in only_first + only_second for r in by_bsn[bsn]]
    assert {r["state"] for r in single} == {"synced"}


class ResponseDropper:
    """A TCP relay in front of the server that lets requests through but cuts the
    connection when the answer starts, for the first `drops` connections: the server has
    done the work, the device never hears about it."""

    def __init__(self, upstream_port: int, drops: int):
        import socket
        import threading

        self.upstream_port, self.drops = upstream_port, drops
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            drop = self.drops > 0
            self.drops -= drop
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, drop), daemon=True).start()

    @staticmethod
    def _pipe(source, target, drop: bool) -> None:
        try:
            while data := source.recv(65536):
                if drop:
                    break
                target.sendall(data)
        except OSError:
            pass
        import socket

        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)  # wakes the other direction's thread too
                end.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def test_answers_lost_on_the_way_back_are_recovered_without_duplicates(tmp_path, server):
    relay = ResponseDropper(server.port, drops=1)
    try:
        device = Device("kamer1", tmp_path, server)
        result = device.run("enroll", "--server", relay.url, "--code", server.enroll_code())
        assert result.returncode == 2  # the enrolment's answer was lost: the code is used up
        assert device.run("enroll", "--server", relay.url, "--code", server.enroll_code()).returncode == 0
        ids = device.register(valid_bsns(700, start=100_000_000 + 90 * 100))
        relay.drops = 1  # the first push batch is stored by the server, its answer never arrives
        lost = device.sync()
        assert lost.returncode == 1 and "niet bereikbaar" in lost.stdout, lost.stdout
        again = device.sync()
        assert again.returncode == 0, again.stdout
        assert "unchanged 500" in again.stdout and "accepted 200" in again.stdout
    finally:
        relay.close()
    assert sorted(exported_ids(server)) == sorted(ids)
    assert {record["state"] for record in device.records().values()} == {"synced"}
