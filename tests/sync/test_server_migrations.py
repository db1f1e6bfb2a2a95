"""The migrations build exactly the schema `tables.py` describes, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sync.server.config import Settings
from sync.server.storage import Storage
from sync.server.tables import metadata


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
    assert storage.schema_revision() == "0006"


def test_the_audit_log_is_append_only_and_inclusions_are_never_deleted(storage):
    storage.audit("test", "ok", details={"x": 1})
    for statement in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log", "DELETE FROM inclusions"):
        with pytest.raises(DBAPIError):
            with storage.engine.begin() as conn:
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
