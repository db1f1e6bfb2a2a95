"""Large pushes are read in helper processes (`sync.server.parsing`), with the same answers
as small ones, and still answered when a helper is killed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from helpers import valid_bsns
from serverproc import record
from sync.server.config import LARGE_BODY_BYTES


def helpers_of(pid: int) -> list[int]:
    """The server's child processes (Linux: /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to find the helper processes")
    return [int(child) for child in path.read_text().split()]


def large(records: list[dict]) -> list[dict]:
    """Long names (within the contract's length), so 300 records are over the large-body size."""
    return [dict(r, name="J. Jansen-" + "x" * 190) for r in records]


def test_a_large_push_is_decided_record_by_record_like_a_small_one(server):
    client = server.enroll()
    good = [record(bsn) for bsn in valid_bsns(400, start=310000000)]
    bad = dict(record("123456789"), id=good[0]["id"].replace(good[0]["id"][:8], "00000000"))
    records = large(good[:399]) + [bad]
    response = client.push(records)
    assert response.status_code == 200, response.text[:300]
    assert len(response.request.body) > LARGE_BODY_BYTES
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["accepted"] * 399 + ["rejected"]
    assert results[-1]["code"] == "invalid_record" and "bsn" in results[-1]["reason"]
    assert [r["id"] for r in results[:399]] == [r["id"] for r in records[:399]]


@pytest.mark.parametrize(("body", "status"), [(b"{" + b" " * (LARGE_BODY_BYTES + 1), 400),
                                              (b'{"records": {}, "x": "' + b"y" * LARGE_BODY_BYTES + b'"}', 422)])
def test_a_large_body_that_is_not_a_push_is_refused_as_a_small_one_is(server, body, status):
    client = server.enroll()
    response = client.session.post(f"{server.url}/v1/inclusions/push", data=body,
                                   headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == status, response.text[:300]
    assert response.json()["code"] == "invalid_request"


def test_a_killed_helper_costs_no_push(server):
    client = server.enroll()
    first = large([record(bsn) for bsn in valid_bsns(300, start=320000000)])
    assert len(str(first)) > LARGE_BODY_BYTES
    assert all(r["result"] == "accepted" for r in client.push_ok(first))
    children = helpers_of(server.process.pid)
    assert children, "no helper processes: large pushes were read on the server's own interpreter"
    for child in children:
        os.kill(child, signal.SIGKILL)
    time.sleep(0.5)
    second = large([record(bsn) for bsn in valid_bsns(300, start=330000000)])
    assert all(r["result"] == "accepted" for r in client.push_ok(second))
    third = large([record(bsn) for bsn in valid_bsns(300, start=340000000)])
    assert all(r["result"] == "accepted" for r in client.push_ok(third))
    assert set(helpers_of(server.process.pid)).isdisjoint(children)  # started again
    assert server.process.poll() is None


@pytest.mark.parametrize("ending", ["stop", "kill"])
def test_the_helpers_end_with_their_server_even_when_it_is_killed(server, ending):
    client = server.enroll()
    assert all(r["result"] == "accepted"
               for r in client.push_ok(large([record(bsn) for bsn in valid_bsns(300, start=360000000)])))
    children = helpers_of(server.process.pid)
    assert children
    getattr(server, ending)()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{child}").exists() for child in children):
        time.sleep(0.2)
    left = [child for child in children if Path(f"/proc/{child}").exists()
            and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]]
    assert left == [], "helper processes outlived their server"
