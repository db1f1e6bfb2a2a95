"""Refused requests, counted instead of written one by one.

A flood of refused requests (over a rate limit, …) must not grow the database by a row
per request. Each refusal adds one to a counter per (minute, source, action, outcome) in
`refused_requests`: at most one row per source and minute, with the count, the time of
the last one, and enough for an auditor to see who was refused, when, how often and why.
"""

from __future__ import annotations

from sync.server import tables as t
from sync.server.storage import Transaction


def count(tx: Transaction, source: str, action: str, outcome: str) -> None:
    """Count one refused request from `source` (device:<id> or a client address)."""
    minute = tx.now.replace(second=0, microsecond=0)
    table = t.refused_requests
    statement = tx.insert_or(table).values(minute=minute, source=source[:100], action=action, outcome=outcome,
                                           count=1, last_at=tx.now)
    tx.conn.execute(statement.on_conflict_do_update(
        index_elements=[table.c.minute, table.c.source, table.c.action, table.c.outcome],
        set_={"count": table.c.count + 1, "last_at": statement.excluded.last_at}))
