"""Race-free duplicate detection and a changes feed that never skips a late commit."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from helpers import valid_bsns
from serverproc import record
from sync.server.config import Settings
from sync.server.storage import Storage


def test_concurrent_pushes_of_one_episode_accept_exactly_one(server):
    devices = [server.enroll(f"kamer {i}") for i in range(8)]
    episodes = valid_bsns(12, start=300000000)
    for bsn in episodes:
        barrier = threading.Barrier(len(devices))

        def push(device, bsn=bsn, barrier=barrier):
            copy = record(bsn, location=device.device_id[:8])
            barrier.wait()
            (result,) = device.push_ok([copy])
            return copy["id"], result

        with ThreadPoolExecutor(len(devices)) as pool:
            outcomes = list(pool.map(push, devices))
        accepted = [record_id for record_id, result in outcomes if result["result"] == "accepted"]
        assert len(accepted) == 1, outcomes
        duplicates = [result for _, result in outcomes if result["result"] == "duplicate"]
        assert len(duplicates) == len(devices) - 1
        assert {d["duplicate_of"]["id"] for d in duplicates} == set(accepted)


def test_concurrent_batches_with_overlapping_episodes_in_any_order_do_not_deadlock(server):
    devices = [server.enroll(f"kamer {i}") for i in range(6)]
    patients = valid_bsns(60, start=310000000)

    def push(device):
        mine = patients[:]
        random.Random(device.device_id).shuffle(mine)  # every device its own order
        results = []
        for start in range(0, len(mine), 20):
            results += device.push_ok([record(bsn) for bsn in mine[start:start + 20]])
        return results

    with ThreadPoolExecutor(len(devices)) as pool:
        everything = [r for results in pool.map(push, devices) for r in results]
    accepted = [r for r in everything if r["result"] == "accepted"]
    assert len(accepted) == len(patients)
    assert sum(r["result"] == "duplicate" for r in everything) == len(patients) * (len(devices) - 1)
    assert len(server.export_rows()) == len(patients)


def test_a_change_that_commits_late_is_not_skipped_by_a_reader(server):
    """Seq numbers follow commit order: a reader's cursor never passes an open transaction.

    A transaction (here: a bundle import in flight, in this test process) writes its feed
    row and stays open; meanwhile a device pushes and another device reads the feed. With
    numbers taken when the row is written, the push would commit a higher seq first, the
    reader's cursor would move past the open one, and the bundle change would be lost once
    it commits. Here PostgreSQL numbers rows at COMMIT (the push commits first and gets the
    lower seq; the reader does not wait), and SQLite writers take turns.
    """
    pusher, reader = server.enroll("kamer 1"), server.enroll("kamer 2")
    _, cursor = reader.all_changes()
    storage = Storage(Settings.from_url(server.database_url))
    pushed: dict = {}
    early: dict = {}
    try:
        with storage.transaction() as tx:
            tx.feed("bundle", {"id": "late-bundle", "version": "1", "toml": 'id = "late-bundle"', "active": False})
            tx.flush()  # the feed row is written; COMMIT comes later
            push = threading.Thread(target=lambda: pushed.update(
                result=pusher.push_ok([record(valid_bsns(1, start=320000000)[0])]), at=time.monotonic()))
            push.start()
            time.sleep(0.5)
            read = threading.Thread(target=lambda: early.update(zip(("changes", "cursor"),
                                                                    reader.all_changes(cursor))))
            read.start()
            time.sleep(0.7)
            committed_at = time.monotonic()
        push.join(60)
        read.join(60)
    finally:
        storage.dispose()
    assert pushed["result"][0]["result"] == "accepted"
    changes = early["changes"] + reader.all_changes(early["cursor"])[0]
    seqs = [c["seq"] for c in changes]
    assert sorted(c["kind"] for c in changes) == ["bundle", "inclusion"]  # both, each once
    assert seqs == sorted(seqs)
    if server.kind == "postgresql":
        # The push did not wait for the open transaction, the reader saw it, and the late
        # bundle change still came after the reader's cursor.
        assert pushed["at"] < committed_at
        assert [c["kind"] for c in early["changes"]] == ["inclusion"]
        assert [c["kind"] for c in changes] == ["inclusion", "bundle"]


def test_a_reader_polling_during_concurrent_pushes_sees_every_change_once_in_order(server):
    pushers = [server.enroll(f"kamer {i}") for i in range(5)]
    reader = server.enroll("lezer")
    patients = valid_bsns(250, start=330000000)
    stop = threading.Event()
    seen: list[dict] = []

    def poll():
        cursor = 0
        while True:
            finished = stop.is_set()
            response = reader.changes(cursor, limit=7)
            body = response.json()
            seen.extend(body["changes"])
            cursor = body["next_cursor"]
            if finished and not body["more"]:
                return

    def push(index):
        mine = patients[index::len(pushers)]
        accepted = []
        for start in range(0, len(mine), 5):
            for result in pushers[index].push_ok([record(bsn) for bsn in mine[start:start + 5]]):
                assert result["result"] == "accepted"
                accepted.append(result["id"])
        return accepted

    poller = threading.Thread(target=poll)
    poller.start()
    with ThreadPoolExecutor(len(pushers)) as pool:
        accepted = [i for ids in pool.map(push, range(len(pushers))) for i in ids]
    stop.set()
    poller.join(120)
    seqs = [c["seq"] for c in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert sorted(c["inclusion"]["id"] for c in seen if c["kind"] == "inclusion") == sorted(accepted)
