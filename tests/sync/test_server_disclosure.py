"""Disclose no wider than needed, tried as a hostile second device speaking raw HTTP:
rate limits on lookups and enrolment (429 with an honest Retry-After, counted rather
than audited row by row, shared by several workers), inclusions in the feed only within
the organisation and without names, and a clear 426 for a device of another version."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from helpers import valid_bsns
from serverproc import BIRTH_DATE, Client, ServerProcess, record, withdrawn
from sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync.server.config import Settings
from sync.server.storage import Storage

FEED_INCLUSION_FIELDS = {"id", "revision", "state", "bundle", "condition", "episode_side", "bsn",
                         "inclusion_date", "end_date"}


def query(server: ServerProcess, sql: str, **params) -> list:
    storage = Storage(Settings.from_url(server.database_url))
    try:
        with storage.read() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        storage.dispose()


@pytest.fixture
def start_server(fresh_database, db_kind, tmp_path):
    started = []

    def start(*serve_args: str) -> ServerProcess:
        process = ServerProcess(fresh_database, tmp_path, db_kind, serve_args).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


# -- rate limits ----------------------------------------------------------------------------
def refused_rows(server):
    """The audit log's aggregated rows of refused requests (one per source, action, outcome and minute)."""
    return query(server, "SELECT device_id, object_id, action, outcome, details FROM audit_log "
                         "WHERE object_type = 'source' ORDER BY id")


def test_lookups_are_limited_per_device_at_the_configured_burst_with_an_honest_retry_after(start_server):
    server = start_server("--lookup-rate", "12", "--lookup-burst", "5")  # one more every 5 s
    greedy, other = server.enroll("kamer 1"), server.enroll("kamer 2")
    bsns = valid_bsns(40, start=700000000)
    statuses = [greedy.lookup(bsn).status_code for bsn in bsns[:5]]
    assert statuses == [200] * 5
    refused = greedy.lookup(bsns[5])
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "rate_limited" and "probeer het over" in body["message"] and bsns[5] not in refused.text
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 5 and f"{wait} seconden" in body["message"]
    assert other.lookup(bsns[6]).status_code == 200  # per device: the other room is not slowed down
    for bsn in bsns[7:30]:  # a flood: every one refused, and counted, not written row by row
        assert greedy.lookup(bsn).status_code == 429
    time.sleep(max(0, wait - 2.5))
    early = greedy.lookup(bsns[30])
    assert early.status_code == 429  # before Retry-After: still refused (refusals do not use up anything)
    time.sleep(int(early.headers["Retry-After"]))
    assert greedy.lookup(bsns[31]).status_code == 200  # after it: allowed, exactly as promised
    assert greedy.lookup(bsns[32]).status_code == 429  # and only one

    looked_up = [row.patient_bsn for row in query(server, "SELECT patient_bsn FROM audit_log WHERE action = "
                                                          "'coverage_lookup' AND device_id = :d "
                                                          "AND object_type <> 'source' ORDER BY id",
                                                  d=greedy.device_id)]
    assert looked_up == bsns[:5] + [bsns[31]]  # refused lookups looked at no patient
    server.stop()  # a clean stop writes what was counted
    counted = refused_rows(server)
    assert {(row.device_id, row.object_id, row.action, row.outcome) for row in counted} == {
        (greedy.device_id, "127.0.0.1", "coverage_lookup", "rate_limited")}
    assert sum(json.loads(row.details)["count"] for row in counted) == 1 + 23 + 1 + 1
    assert len(counted) <= 2  # one row per minute (the flood may straddle a minute boundary)


def test_the_default_limits_are_60_a_minute_with_a_burst_of_20(monkeypatch):
    settings = Settings.from_url("sqlite:///x.sqlite3")
    assert (settings.lookup_rate, settings.lookup_burst) == (60, 20)
    monkeypatch.setenv("BUNDELASSISTENT_SERVER_LOOKUP_RATE", "30")
    assert Settings.from_url("sqlite:///x.sqlite3").lookup_rate == 30
    assert Settings.from_url("sqlite:///x.sqlite3", lookup_rate="90").lookup_rate == 90  # the option wins
    from sync.server.config import ConfigError
    with pytest.raises(ConfigError, match="--lookup-burst"):
        Settings.from_url("sqlite:///x.sqlite3", lookup_burst="0")


def test_a_bad_limit_option_is_a_clear_error(server):
    result = server.admin("serve", "--lookup-rate", "veel", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("fout: --lookup-rate") and "geheel getal" in result.stderr


def test_enrolment_is_limited_per_source_address(start_server):
    server = start_server("--enroll-rate", "1", "--enroll-burst", "3")
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION)}

    def attempt(code: str) -> requests.Response:
        return requests.post(f"{server.url}/v1/enroll", headers=headers, timeout=30,
                             json={"code": code, "device_name": "raader"})

    assert [attempt(f"AAAA-BBBB-CCC{i}").status_code for i in range(3)] == [403, 403, 403]
    valid = server.enroll_code()
    refused = attempt(valid)  # even a good code: the address has used its attempts
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert "koppelpogingen" in refused.json()["message"] and 1 <= int(refused.headers["Retry-After"]) <= 60
    for i in range(20):
        assert attempt(f"AAAA-BBBB-DDD{i}").status_code == 429
    assert query(server, "SELECT count(*) AS n FROM audit_log WHERE action = 'enroll'")[0].n == 3
    assert query(server, "SELECT count(*) AS n FROM devices")[0].n == 0
    server.stop()  # a clean stop writes what was counted
    counted = [row for row in refused_rows(server) if row.action == "enroll"]
    assert {(row.object_id, row.outcome) for row in counted} == {("127.0.0.1", "rate_limited")}
    assert sum(json.loads(row.details)["count"] for row in counted) == 21


def test_several_workers_share_one_limit(postgres_cluster, tmp_path):
    """Several workers run only on PostgreSQL; the limit lives in the database."""
    server = ServerProcess(postgres_cluster.create_database(), tmp_path, "postgresql",
                           ("--workers", "3", "--lookup-rate", "6", "--lookup-burst", "8")).start()
    try:
        _share_one_limit(server)
    finally:
        server.stop()


def _share_one_limit(server: ServerProcess) -> None:
    device = server.enroll()
    bsns = valid_bsns(48, start=710000000)
    local = threading.local()

    def look(bsn: str) -> int:
        if not hasattr(local, "client"):  # own connections, spread over the workers
            local.client = Client(device.url, device.token, device.device_id)
        return local.client.lookup(bsn).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(look, bsns))
    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == 8  # not 8 per worker


# -- the changes feed -----------------------------------------------------------------------
def test_a_device_of_another_organisation_sees_none_of_this_organisations_inclusions(server):
    own_a, other_a = server.enroll("kamer 1", organisation="Handkliniek Noord"), server.enroll(
        "kamer 2", organisation="Handkliniek Noord")
    stranger = server.enroll("kamer 9", organisation="Ziekenhuis Zuid")
    default = server.enroll("oud apparaat")  # no --organisation: the default one
    bsns = valid_bsns(3, start=720000000)
    included = [record(bsn) for bsn in bsns]
    own_a.push_ok(included)
    own_a.push_ok([withdrawn(included[0])])
    stranger_record = record(valid_bsns(1, start=721000000)[0])
    stranger.push_ok([stranger_record])

    def inclusions(client):
        return [c["inclusion"] for c in client.all_changes()[0] if c["kind"] == "inclusion"]

    assert sorted(i["id"] for i in inclusions(other_a)) == sorted([r["id"] for r in included] + [included[0]["id"]])
    assert inclusions(stranger) == []
    assert inclusions(default) == []
    assert [i["id"] for i in inclusions(own_a)] == []  # never its own
    assert [i["id"] for i in inclusions(other_a) if i["bsn"] == stranger_record["bsn"]] == []
    # the server still sees every episode: a second organisation's duplicate is caught
    [answer] = stranger.push_ok([record(bsns[1])])
    assert answer["result"] == "duplicate"
    devices = {row.id: row.organisation for row in query(server, "SELECT id, organisation FROM devices")}
    assert devices[own_a.device_id] == "Handkliniek Noord" and devices[default.device_id] == "standaard"


def test_a_duplicate_names_the_earlier_location_only_within_the_organisation(server):
    """A clinic learns that its patient already has an episode (and from when, to when), but
    not at which other clinic: only a colleague of the same organisation is told where."""
    first = server.enroll("kamer 1", location="Noord-Oost", organisation="Handkliniek Noord")
    colleague = server.enroll("kamer 2", location="Noord-West", organisation="Handkliniek Noord")
    stranger = server.enroll("kamer 9", location="Zuid", organisation="Ziekenhuis Zuid")
    bsn = valid_bsns(1, start=722000000)[0]
    first.push_ok([record(bsn, location="Noord-Oost")])
    colleague_record, stranger_record = record(bsn, location="Noord-West"), record(bsn, location="Zuid")
    [told_colleague] = colleague.push_ok([colleague_record])
    [told_stranger] = stranger.push_ok([stranger_record])
    [told_again] = stranger.push_ok([stranger_record])  # answered from the stored duplicate
    assert told_colleague["result"] == told_stranger["result"] == told_again["result"] == "duplicate"
    assert told_colleague["duplicate_of"]["location"] == "Noord-Oost"
    for answer in (told_stranger, told_again):
        assert answer["duplicate_of"]["location"] is None
        assert answer["duplicate_of"]["inclusion_date"] == told_colleague["duplicate_of"]["inclusion_date"]
        assert "Noord" not in str(answer)


def test_no_feed_item_carries_a_name_birth_date_location_or_device(server):
    pusher, reader = server.enroll("kamer 1"), server.enroll("kamer 2")
    bsn, = valid_bsns(1, start=730000000)
    pushed = record(bsn, name="Marietje Kleinjan", location="Polikliniek Amersfoort", birth_date="1958-11-23",
                    explained_by="SUO de Groot")  # device_id: the pusher's own (the server accepts no other)
    pusher.push_ok([pushed])
    pusher.push_ok([withdrawn(pushed)])
    response = reader.changes(0, 1000)
    assert response.status_code == 200
    items = [c["inclusion"] for c in response.json()["changes"] if c["kind"] == "inclusion"]
    assert len(items) == 2
    for item in items:
        assert set(item) == FEED_INCLUSION_FIELDS
    for secret in ("Marietje", "Kleinjan", "Amersfoort", "1958-11-23", "de Groot", pusher.device_id,
                   "J. Jansen", BIRTH_DATE):
        assert secret not in response.text


# -- protocol versions ----------------------------------------------------------------------
@pytest.mark.parametrize("method, path, body", [
    ("POST", "/v1/inclusions/push", {"records": []}), ("GET", "/v1/changes", None),
    ("POST", "/v1/coverage/lookup", {"bsn": "111222333", "on": "2025-01-01"}),
    ("POST", "/v1/enroll", {"code": "X", "device_name": "oud"}),
])
def test_a_device_of_the_previous_version_is_told_in_dutch_to_install_the_new_one(server, method, path, body):
    old = server.enroll()  # a device enrolled before the upgrade keeps its token
    headers = {PROTOCOL_HEADER: "1", "Authorization": f"Bearer {old.token}"}
    response = requests.request(method, server.url + path, headers=headers, json=body, timeout=30)
    assert response.status_code == 426
    assert response.headers[PROTOCOL_HEADER] == str(PROTOCOL_VERSION)
    answer = response.json()
    assert answer["code"] == "protocol_version"
    assert "Installeer de nieuwe versie van Bundelassistent" in answer["message"]
    assert f"server: protocolversie {PROTOCOL_VERSION}" in answer["message"]
    assert "apparaat: versie 1" in answer["message"]
    assert "111222333" not in response.text


def test_a_newer_device_is_told_that_the_server_must_be_upgraded_first(server):
    response = requests.get(f"{server.url}/v1/changes", headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION + 1)},
                            timeout=30)
    assert response.status_code == 426
    assert "Vraag IT de centrale server bij te werken" in response.json()["message"]
    assert requests.get(f"{server.url}/v1/health", timeout=30).json()["protocol_version"] == PROTOCOL_VERSION
