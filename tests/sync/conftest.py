"""Server fixtures: a throwaway PostgreSQL cluster for the session, and the real server as
a subprocess on a fresh database, parametrised over SQLite and PostgreSQL.

With BUNDELASSISTENT_REQUIRE_POSTGRES=1 (set by scripts/test, so in CI) a PostgreSQL
that cannot start FAILS the PostgreSQL tests with the reason; elsewhere they are skipped.
"""

from __future__ import annotations

import os

import pytest

from pgcluster import PostgresCluster, PostgresUnavailable
from serverproc import ServerProcess

# Read now: the autouse isolated_environment fixture removes BUNDELASSISTENT_* variables.
REQUIRE_POSTGRES = os.environ.get("BUNDELASSISTENT_REQUIRE_POSTGRES") == "1"
POSTGRES_BIN = os.environ.get("BUNDELASSISTENT_POSTGRES_BIN") or None

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_cluster():
    try:
        cluster = PostgresCluster(POSTGRES_BIN).start()
    except (PostgresUnavailable, OSError) as error:
        cluster = None
        reason = f"PostgreSQL kon niet starten: {error}"
    if cluster is None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (BUNDELASSISTENT_REQUIRE_POSTGRES=1: PostgreSQL-tests moeten draaien)",
                        pytrace=False)
        pytest.skip(reason)
    yield cluster
    cluster.stop()


@pytest.fixture(params=DATABASES)
def db_kind(request):
    return request.param


@pytest.fixture
def fresh_database(request, db_kind, tmp_path):
    if db_kind == "postgresql":
        return request.getfixturevalue("postgres_cluster").create_database()
    return f"sqlite:///{tmp_path / 'server.sqlite3'}"


@pytest.fixture
def server(fresh_database, db_kind, tmp_path):
    """The real server on a fresh database, once for SQLite and once for PostgreSQL."""
    process = ServerProcess(fresh_database, tmp_path, db_kind).start()
    yield process
    process.stop()


@pytest.fixture
def server_without_bundles(fresh_database, db_kind, tmp_path):
    """The real server before IT imported any bundle definition."""
    process = ServerProcess(fresh_database, tmp_path, db_kind, bundles=False).start()
    yield process
    process.stop()
