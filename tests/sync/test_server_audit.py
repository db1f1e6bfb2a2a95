"""The audit log cannot be flooded and cannot be emptied.

Refused requests (no token, an unknown or revoked one) are counted
per source address and minute and written as one audit row each, not one per request.
On PostgreSQL the application role may only INSERT and SELECT on the audit log: checked
by connecting as that role on the throwaway cluster, and by running the real server as it.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
import requests

from helpers import valid_bsns
from serverproc import ServerProcess, query, record
from sync.protocol import protocol_headers


def test_refused_requests_are_counted_per_source_and_minute_not_written_one_by_one(server):
    device, revoked = server.enroll("kamer 1"), server.enroll("oud")
    server.admin("revoke", revoked.device_id)
    before = query(server.database_url, "SELECT count(*) FROM audit_log")[0][0]
    session = requests.Session()
    bad = {"no token": protocol_headers(), "unknown token": protocol_headers("x" * 43),
           "revoked": protocol_headers(revoked.token)}
    for _ in range(40):
        for headers in bad.values():
            assert session.get(f"{server.url}/v1/changes", headers=headers, timeout=10).status_code == 401
            assert session.post(f"{server.url}/v1/inclusions/push", headers=headers, json={"records": []},
                                timeout=10).status_code == 401
    # a real device is not held up meanwhile, and its own work is audited as always
    assert device.push_ok([record(valid_bsns(1, start=270000000)[0])])[0]["result"] == "accepted"
    during = query(server.database_url, "SELECT count(*) FROM audit_log")[0][0]
    assert during - before < 10  # the push and its record; no row per refused request

    server.stop()  # a clean stop writes what was counted
    rows = query(server.database_url, "SELECT action, outcome, device_id, object_type, object_id, details "
                                      "FROM audit_log WHERE object_type = 'source'")
    totals: dict[tuple, int] = {}
    for row in rows:
        details = json.loads(row.details)
        assert row.object_id == "127.0.0.1" and details["aggregated"] is True
        key = (row.action, row.outcome, row.device_id)
        totals[key] = totals.get(key, 0) + details["count"]
    assert totals == {("authenticate", "unauthorized", None): 160,
                      ("authenticate", "device_revoked", revoked.device_id): 80}
    assert len(rows) <= 2 * len(totals)  # one row per minute (the run may cross one boundary)


@pytest.fixture
def owner_and_app(postgres_cluster):
    """A migrated database, its owner's URL, and a login role that is a member of the application role."""
    owner_url = postgres_cluster.create_database("roles")
    ServerProcess(owner_url, postgres_cluster.folder, "postgresql").admin("migrate")
    login = f"app_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {login} LOGIN IN ROLE bundelassistent_app")
    return owner_url, owner_url.replace("postgresql://postgres@", f"postgresql://{login}@")


def test_the_application_role_may_only_insert_and_read_the_audit_log(owner_and_app, tmp_path):
    owner_url, app_url = owner_and_app
    with psycopg.connect(app_url, autocommit=True) as conn:
        conn.execute("INSERT INTO audit_log (at, system, actor, action, outcome) "
                     "VALUES (now(), 'test', 'admin:test', 'probe', 'ok')")
        assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'probe'").fetchone()[0] == 1
        for statement in ("UPDATE audit_log SET outcome = 'weg'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                          "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
                          "DROP TRIGGER audit_log_append_only ON audit_log", "DROP TABLE audit_log",
                          "UPDATE alembic_version SET version_num = '0001'", "DELETE FROM inclusions",
                          "TRUNCATE inclusions", "CREATE TABLE schaduw (x int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'probe'").fetchone()[0] == 1

    # the real server runs as the application role: the schema is current, so it migrates nothing
    server = ServerProcess(app_url, tmp_path, "postgresql").start()
    try:
        owner = ServerProcess(owner_url, tmp_path, "postgresql")
        code = owner.enroll_code()
        answer = requests.post(f"{server.url}/v1/enroll", headers=protocol_headers(), timeout=30,
                               json={"code": code, "device_name": "kamer 1", "location": "Utrecht"}).json()
        from serverproc import Client
        device = Client(server.url, answer["token"], answer["device_id"])
        bsn = valid_bsns(1, start=280000000)[0]
        assert device.push_ok([record(bsn)])[0]["result"] == "accepted"
        assert device.changes().status_code == 200
        assert device.lookup(bsn).status_code == 200
        assert requests.get(f"{server.url}/v1/changes", headers=protocol_headers("onzin"),
                            timeout=10).status_code == 401
        assert "rechten" in owner.admin("migrate").stdout  # the owner may re-apply the grants
        refused = server.admin("migrate", check=False)  # the application role may not
        assert refused.returncode == 2 and "eigenaar" in refused.stderr
    finally:
        server.stop()
    rows = query(owner_url, "SELECT action, patient_bsn, outcome FROM audit_log ORDER BY id")
    assert ("inclusion_push", bsn, "accepted") in [tuple(r) for r in rows]
    assert ("authenticate", None, "unauthorized") in [tuple(r) for r in rows]  # counted, written at stop
