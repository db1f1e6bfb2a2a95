"""A server killed mid-push loses nothing and stores nothing twice."""

import threading
import time

import requests

from helpers import valid_bsns
from serverproc import record


def test_server_killed_mid_push_then_repush_stores_every_record_exactly_once(server, db_kind):
    client = server.enroll()
    patients = valid_bsns(3000, start=400000000)
    batches = [[record(bsn) for bsn in patients[i:i + 250]] for i in range(0, len(patients), 250)]
    confirmed: set[int] = set()

    for round_number in range(3):
        in_flight = threading.Event()
        done = threading.Event()

        def pusher(in_flight=in_flight, done=done):
            for index, batch in enumerate(batches):
                if index in confirmed:
                    continue
                in_flight.set()
                try:
                    response = client.push(batch, timeout=30)
                except requests.RequestException:
                    break  # the server is gone: no confirmation for this batch
                if response.status_code == 200:
                    confirmed.add(index)
            done.set()

        thread = threading.Thread(target=pusher)
        thread.start()
        in_flight.wait(10)
        time.sleep(0.15 + 0.1 * round_number)  # somewhere inside a request
        server.kill()
        thread.join(60)
        server.start()

    # The client re-pushes everything it has no confirmation for (here: everything).
    results = [r for batch in batches for r in client.push_ok(batch)]
    assert {r["result"] for r in results} <= {"accepted", "unchanged"}
    for index in confirmed:  # what was confirmed is on the server
        assert all(r["result"] == "unchanged" for r in client.push_ok(batches[index]))
    # every batch is all-or-nothing: within one, the results of the re-push are uniform
    for start in range(0, len(results), 250):
        assert len({r["result"] for r in results[start:start + 250]}) == 1
    ids = [row["inclusion_id"] for row in server.export_rows()]
    assert len(ids) == len(set(ids)) == len(patients)
    assert len(confirmed) < len(batches)  # the kills did interrupt the pushes
    if db_kind == "sqlite":
        import sqlite3
        conn = sqlite3.connect(server.database_url.removeprefix("sqlite:///"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
