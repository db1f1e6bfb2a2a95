"""The audit log table: each row appended to the hash chain (see `audit_chain`).

Used by the registry for every view and change and by the migrations that act on records;
always inside the caller's open write transaction, so the head read here cannot change
before the row is in (BEGIN IMMEDIATE holds the lock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlite_utils

from desktop.store import audit_chain

SYSTEM_NAME = "Bundelassistent"  # the NEN 7513 "system" field of every row


def utc_now() -> str:
    """The time stamp of audit rows and records: UTC, milliseconds, `Z`."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def head(db: sqlite_utils.Database) -> audit_chain.Head:
    """The newest row as the app wrote it; rows cut off the end stay a visible gap."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [audit_chain.HEAD_KEY]).fetchone()
    newest = audit_chain.Head.decode(row[0] if row else None)
    if newest is None:  # the head was removed: continue after what is there (the check reports it)
        row = db.execute("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        newest = audit_chain.Head(row[0], row[1] or "") if row else audit_chain.START
    return newest


def append(db: sqlite_utils.Database, fields: dict[str, Any]) -> None:
    """Append one row (all of audit_chain.FIELDS but seq) to the hash chain, inside an open
    write transaction, so the head read here cannot change before the row is in."""
    last = head(db)
    newest = db.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0]
    row = {**fields, "seq": max(last.seq, newest) + 1}  # rows slipped in after the head stay a visible break
    row["row_hash"] = audit_chain.row_hash(last.hash, row)
    columns = (*audit_chain.FIELDS, "row_hash")
    db.execute(f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
               [row[name] for name in columns])
    set_head(db, audit_chain.Head(row["seq"], row["row_hash"]))


def set_head(db: sqlite_utils.Database, newest: audit_chain.Head) -> None:
    db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [audit_chain.HEAD_KEY, newest.encode()])
