"""The database: engine, migrations, write transactions, the changes feed and the audit log.

Every change is one write transaction (`Storage.write`). Inside it, services queue feed
entries and audit rows; both are written at the end, just before COMMIT. Feed sequence
numbers come from a one-row counter *at commit*: on PostgreSQL a deferred trigger numbers
the rows during COMMIT and the counter row stays locked until the commit is visible; on
SQLite writers take turns anyway. So seqs follow commit order and a reader that saw seq N
has seen everything below N (the classic pitfall of sequences, which are not
commit-ordered on PostgreSQL, cannot occur).

SQLite: WAL, a busy timeout, and `BEGIN IMMEDIATE` for writes, serialised by a process
lock as well (so threads queue fairly instead of spinning on SQLITE_BUSY).
PostgreSQL: READ COMMITTED; services take `pg_advisory_xact_lock`s in a fixed order and a
deadlock or serialization failure retries the whole transaction.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from sync.server import tables as t
from sync.server.config import ConfigError, Dialect, Settings

log = logging.getLogger("bundelassistent.server")

SYSTEM_NAME = "Bundelassistent-server"
RETRYABLE_PG_CODES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
INSUFFICIENT_PRIVILEGE = "42501"
MAX_ATTEMPTS = 5
COPY_THRESHOLD = 10

T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def admin_actor() -> str:
    try:
        return f"admin:{getpass.getuser()}"
    except Exception:  # a service account without a passwd entry
        return "admin:onbekend"


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for a tuple of strings."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or stays locked; the client should retry later."""


class MigrationNotAllowed(ConfigError):
    """The schema is behind and this database role may not change it (the application role)."""

    def __init__(self):
        super().__init__("het databaseschema moet bijgewerkt worden, maar deze databasegebruiker mag dat niet "
                         "(de applicatierol); voer eerst 'bundelassistent-server --database <URL van de eigenaar> "
                         "migrate' uit")


class Transaction:
    """One write transaction: the connection plus queued feed entries and audit rows."""

    def __init__(self, storage: Storage, conn: Connection):
        self.storage = storage
        self.conn = conn
        self.now = utc_now()
        self._feed: list[dict] = []
        self._audit: list[dict] = []

    @property
    def dialect(self) -> Dialect:
        return self.storage.dialect

    def feed(self, kind: str, payload: dict, origin_device: str | None = None,
             target_device: str | None = None, bsn: str | None = None, organisation: str | None = None) -> None:
        # compact JSON: feed.changes splices it verbatim into responses
        self._feed.append({"kind": kind, "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                                                separators=(",", ":")),
                           "origin_device": origin_device, "target_device": target_device, "bsn": bsn,
                           "organisation": organisation, "created_at": self.now})

    def audit(self, action: str, outcome: str, *, device_id: str | None = None, actor: str | None = None,
              patient_bsn: str | None = None, object_type: str | None = None, object_id: str | None = None,
              details: dict | None = None, at: dt.datetime | None = None) -> None:
        self._audit.append({
            "at": at or self.now, "system": SYSTEM_NAME, "device_id": device_id,
            "actor": actor or (f"device:{device_id}" if device_id else admin_actor()),
            "action": action, "patient_bsn": patient_bsn, "object_type": object_type,
            "object_id": object_id, "outcome": outcome,
            "details": json.dumps(details, ensure_ascii=False, sort_keys=True) if details else None,
        })

    def insert_or(self, table):
        """An INSERT that takes `.on_conflict_do_nothing()` / `_do_update()` on either database."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def lock(self, keys: list[int]) -> None:
        """PostgreSQL: take transaction-scoped advisory locks, in sorted order (no deadlocks).

        SQLite needs none: BEGIN IMMEDIATE already makes writers take turns.
        """
        if self.dialect != "postgresql" or not keys:
            return
        ordered = sorted(set(keys))
        for start in range(0, len(ordered), 1000):
            self.conn.execute(
                text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k"),
                {"keys": ordered[start:start + 1000]})

    def lock_shared(self, key: int) -> None:
        """PostgreSQL: a shared advisory lock until COMMIT (conflicts only with `lock_exclusive`)."""
        if self.dialect == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": key})

    def lock_exclusive(self, key: int) -> None:
        """PostgreSQL: an exclusive advisory lock until COMMIT; waits for every shared holder."""
        if self.dialect == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def flush(self) -> None:
        """Write the queued feed entries and audit rows (called just before COMMIT).

        PostgreSQL numbers feed rows in a deferred trigger at COMMIT (migration 0002), so
        no lock is held while Python still works. SQLite writers already take turns (BEGIN
        IMMEDIATE), so the numbers are taken here from the counter.
        """
        if self._feed:
            entries, self._feed = self._feed, []
            if self.dialect == "sqlite":
                last = self.conn.execute(
                    update(t.feed_counter).where(t.feed_counter.c.id == 1)
                    .values(last_seq=t.feed_counter.c.last_seq + len(entries))
                    .returning(t.feed_counter.c.last_seq)).scalar_one()
                for offset, entry in enumerate(entries):
                    entry["seq"] = last - len(entries) + 1 + offset
            self.insert_many(t.feed, entries)
        if self._audit:
            rows, self._audit = self._audit, []
            self.insert_many(t.audit_log, rows)

    def insert_many(self, table, rows: list[dict]) -> None:
        """Insert rows that all have the same keys; PostgreSQL COPY for larger batches.

        COPY is one round trip for the whole batch (an executemany is one statement per
        row); it runs on this transaction's connection and fires the same triggers.
        """
        if not rows:
            return
        if self.dialect != "postgresql" or len(rows) < COPY_THRESHOLD:
            self.conn.execute(insert(table), rows)
            return
        columns = list(rows[0])
        quoted = ", ".join(f'"{name}"' for name in columns)
        raw = self.conn.connection.dbapi_connection
        assert raw is not None, "an open transaction's connection has its driver connection"
        cursor = raw.cursor()
        try:
            with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([row[name] for name in columns])
        finally:
            cursor.close()


class Storage:
    """Owns the engine. One per process; safe to share between request threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dialect = settings.dialect
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self.engine = self._create_engine()

    # -- engine -------------------------------------------------------------------------
    def _create_engine(self) -> Engine:
        url = self.settings.database_url
        if self.dialect == "sqlite":
            self._ensure_sqlite_folder(url)
            engine = create_engine(url, hide_parameters=True, pool_size=self.settings.pool_size,
                                   max_overflow=self.settings.max_overflow, pool_timeout=30,
                                   connect_args={"timeout": 30, "check_same_thread": False})

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_connection, _record):  # pragma: no cover - driver hook
                dbapi_connection.isolation_level = None  # SQLAlchemy's begin event issues BEGIN
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn):  # pragma: no cover - driver hook
                mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
                conn.exec_driver_sql(f"BEGIN {mode}")
            return engine
        return create_engine(url, hide_parameters=True, pool_size=self.settings.pool_size,
                             max_overflow=self.settings.max_overflow, pool_timeout=30,
                             connect_args={"connect_timeout": 10, "application_name": "bundelassistent-server"})

    @staticmethod
    def _ensure_sqlite_folder(url: str) -> None:
        from pathlib import Path

        from sqlalchemy.engine import make_url

        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest migration; concurrent callers take turns."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(resources.files("sync.server") / "migrations"))
        with self._connect_for_write() as conn, conn.begin():
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("migrations")})
            config.attributes["connection"] = conn
            try:
                command.upgrade(config, "head")
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                    raise MigrationNotAllowed() from None
                raise

    def grant_application_role(self) -> bool:
        """PostgreSQL: (re)apply the application role's rights; False on SQLite (no roles)."""
        if self.dialect != "postgresql":
            return False
        from sync.server.roles import grant_application_role

        with self.engine.begin() as conn:
            if not grant_application_role(conn):
                raise ConfigError("rechten toekennen aan bundelassistent_app kan alleen de eigenaar van de tabellen; "
                                  "voer 'migrate' uit met de URL van de eigenaar")
        return True

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:
                return None

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def _connect_for_write(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.engine.connect() as conn:
                yield conn
            return
        if not self._write_lock.acquire(timeout=60):
            raise DatabaseUnavailable("de database is te lang bezet")
        try:
            with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
                yield conn
        finally:
            self._write_lock.release()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction; feed and audit are flushed just before COMMIT."""
        try:
            with self._connect_for_write() as conn, conn.begin():
                tx = Transaction(self, conn)
                yield tx
                tx.flush()
        except OperationalError as error:
            if self._retryable(error) or error.connection_invalidated:
                raise
            raise DatabaseUnavailable(str(error.orig.__class__.__name__)) from error

    def write(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` in a write transaction, retrying it whole on a deadlock or on a pooled
        connection the database dropped (a restart): the pool then reconnects."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self.transaction() as tx:
                    return work(tx)
            except DBAPIError as error:
                if attempt == MAX_ATTEMPTS or not (self._retryable(error) or error.connection_invalidated):
                    if error.connection_invalidated:
                        raise DatabaseUnavailable(type(error.orig).__name__) from error
                    raise
                log.info("transactie opnieuw (poging %d): %s", attempt + 1, type(error.orig).__name__)
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on SQLite; READ COMMITTED on PostgreSQL)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as error:
            raise DatabaseUnavailable(str(error.orig.__class__.__name__)) from error

    @contextmanager
    def _single_statement(self) -> Iterator[Connection]:
        """A connection for one read statement. On PostgreSQL in autocommit: the statement is
        its own transaction, which saves the BEGIN and COMMIT round trips every request would
        otherwise pay to authenticate (one statement sees one consistent snapshot anyway)."""
        if self.dialect != "postgresql":
            with self.read() as conn:
                yield conn
            return
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                yield conn
        except OperationalError as error:
            raise DatabaseUnavailable(str(error.orig.__class__.__name__)) from error

    def read_value(self, query) -> Any:
        """One scalar, read on its own; a connection the database dropped is retried once."""
        return self._read_once(lambda conn: conn.execute(query).scalar())

    def read_first(self, query) -> Any:
        """The first row (or None), read on its own, retried like `read_value`."""
        return self._read_once(lambda conn: conn.execute(query).first())

    def _read_once(self, work: Callable[[Connection], T]) -> T:
        for attempt in (1, 2):
            try:
                with self._single_statement() as conn:
                    return work(conn)
            except DatabaseUnavailable as error:
                cause = error.__cause__
                if attempt == 2 or not getattr(cause, "connection_invalidated", False):
                    raise
        raise AssertionError("unreachable")

    def _retryable(self, error: DBAPIError) -> bool:
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return self.dialect == "postgresql" and code in RETRYABLE_PG_CODES

    # -- small shared queries -----------------------------------------------------------
    def audit(self, action: str, outcome: str, **fields: Any) -> None:
        """Write one audit row in its own transaction (for reads and refused requests)."""
        self.write(lambda tx: tx.audit(action, outcome, **fields))

    def ping(self) -> bool:
        return self.read_value(select(t.feed_counter.c.last_seq)) is not None
