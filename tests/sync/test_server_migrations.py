"""The migrations build exactly the schema `tables.py` describes, on SQLite and PostgreSQL."""

from importlib import resources

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sync.server.config import Settings
from sync.server.storage import Storage
from sync.server.tables import metadata


def upgrade_to(storage: Storage, revision: str) -> None:
    """Migrate a fresh database only up to `revision`, to put in data of that version."""
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(resources.files("sync.server") / "migrations"))
    with storage.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@pytest.fixture
def storage(fresh_database):
    storage = Storage(Settings.from_url(fresh_database))
    storage.migrate()
    yield storage
    storage.dispose()


def test_migrated_schema_matches_the_table_definitions(storage):
    storage.migrate()  # a second run is a no-op
    with storage.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    config = Config()
    config.set_main_option("script_location", str(resources.files("sync.server") / "migrations"))
    scripts = ScriptDirectory.from_config(config)
    assert storage.schema_revision() == scripts.get_current_head() != "0006"


def test_the_audit_log_is_append_only_and_inclusions_are_never_deleted(storage):
    storage.audit("test", "ok", details={"x": 1})
    for statement in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log", "DELETE FROM inclusions"):
        with pytest.raises(DBAPIError), storage.engine.begin() as conn:  # noqa: PT012 - the insert sets up the delete
            if statement == "DELETE FROM inclusions":
                conn.execute(text(
                    "INSERT INTO inclusions (id, revision, state, status, bundle, bundle_version, condition, "
                    "diagnosis, episode_side, bsn, birth_date, insurer_uzovi, insurer_source, insurer_checked_at, "
                    "eligibility_status, eligibility_rules, handout_printed, agreed, inclusion_date, end_date, "
                    "device_id, \"user\", created_at, updated_at, content_hash, pushed_by, received_at) VALUES "
                    "('x', 1, 'registered', 'accepted', 'b', '1', 'c', 'G56.0', '', '111222333', '1970-01-01', "
                    "'3311', 's', '2025-01-01', 'eligible', '[]', false, true, '2025-01-01', '2025-12-31', 'd', "
                    "'u', '2025-01-01', '2025-01-01', 'h', 'p', '2025-01-01')"))
            conn.execute(text(statement))


def test_migration_0006_gives_existing_devices_the_default_organisation_and_shrinks_what_was_shared(
        fresh_database):
    """A server with protocol-1 data: devices, a feed row with birth date and location,
    devices that know patients by lookup alone or by their own inclusion."""


    storage = Storage(Settings.from_url(fresh_database))
    try:
        upgrade_to(storage, "0005")
        with storage.engine.begin() as conn:
            for device in ("looker", "includer"):
                conn.execute(text("INSERT INTO devices (id, name, token_hash, enrolled_at) VALUES "
                                  f"('{device}', '{device}', 'hash-{device}', '2025-01-01')"))
            conn.execute(text(
                "INSERT INTO inclusions (id, revision, state, status, bundle, bundle_version, condition, "
                "diagnosis, episode_side, bsn, birth_date, insurer_uzovi, insurer_source, insurer_checked_at, "
                "eligibility_status, eligibility_rules, handout_printed, agreed, inclusion_date, end_date, "
                "device_id, \"user\", created_at, updated_at, content_hash, pushed_by, received_at) VALUES "
                "('i1', 1, 'registered', 'accepted', 'b', '1', 'c', 'G56.0', '', '111222333', '1971-06-02', "
                "'3311', 's', '2025-01-01', 'eligible', '[]', false, true, '2025-01-01', '2025-12-31', 'd', "
                "'u', '2025-01-01', '2025-01-01', 'h', 'includer', '2025-01-01')"))
            conn.execute(text("INSERT INTO device_patients (device_id, bsn, since) VALUES "
                              "('looker', '111222333', '2025-01-01'), ('includer', '111222333', '2025-01-01')"))
            conn.execute(text(
                "INSERT INTO feed (kind, origin_device, bsn, payload, created_at) VALUES ('inclusion', 'includer', "
                "'111222333', '{\"id\":\"i1\",\"bsn\":\"111222333\",\"birth_date\":\"1971-06-02\","
                "\"location\":\"Utrecht\",\"device_id\":\"d\",\"state\":\"registered\"}', '2025-01-01')"))
            conn.execute(text("INSERT INTO coverage (bsn, uzovi, valid_from, imported_at) VALUES "
                              "('111222333', '3311', '2025-01-01', '2025-01-01')"))
        storage.migrate()
        import json
        with storage.read() as conn:
            assert set(conn.execute(text("SELECT organisation FROM devices")).scalars()) == {"standaard"}
            feed_row = conn.execute(text("SELECT organisation, payload FROM feed")).one()
            assert feed_row.organisation == "standaard"
            assert json.loads(feed_row.payload) == {"id": "i1", "bsn": "111222333", "state": "registered"}
            known = conn.execute(text("SELECT device_id, bsn, birth_date FROM device_patients")).all()
            assert [(row.device_id, row.bsn, str(row.birth_date)) for row in known] == [
                ("includer", "111222333", "1971-06-02")]  # a lookup without birth date conferred nothing
            assert conn.execute(text("SELECT birth_date FROM coverage")).scalar() is None
    finally:
        storage.dispose()


def test_migration_0011_moves_the_counted_refusals_into_the_audit_log(fresh_database):
    """The counts of `refused_requests` become aggregated audit rows, as the server now
    writes them, and the table the application role could rewrite is gone."""
    import datetime as dt
    import json

    from sqlalchemy import inspect

    storage = Storage(Settings.from_url(fresh_database))
    try:
        upgrade_to(storage, "0010")
        minute = dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC)
        with storage.engine.begin() as conn:
            conn.execute(text("INSERT INTO refused_requests (minute, source, action, outcome, count, last_at) "
                              "VALUES (:m, 'device:abc', 'coverage_lookup', 'rate_limited', 26, :m), "
                              "(:m, '10.0.0.7', 'enroll', 'rate_limited', 21, :m)"),
                         {"m": minute if storage.dialect == "postgresql" else minute.replace(tzinfo=None)})
        storage.migrate()
        assert "refused_requests" not in inspect(storage.engine).get_table_names()
        with storage.read() as conn:
            rows = conn.execute(text("SELECT device_id, actor, action, object_type, object_id, outcome, details "
                                     "FROM audit_log ORDER BY object_id")).all()
        assert [(r.device_id, r.actor, r.action, r.object_type, r.object_id, r.outcome) for r in rows] == [
            (None, "onbekend apparaat", "enroll", "source", "10.0.0.7", "rate_limited"),
            ("abc", "device:abc", "coverage_lookup", "source", "device:abc", "rate_limited")]
        details = [json.loads(r.details) for r in rows]
        assert [d["count"] for d in details] == [21, 26] and all(d["aggregated"] for d in details)
        assert {d["minute"] for d in details} == {"2026-11-30T09:15:00+00:00"}
    finally:
        storage.dispose()
