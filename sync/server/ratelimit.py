"""Rate limits shared by every worker process: one row per key in the database.

A limit is "R requests a minute with a burst of B", kept as GCRA (the generic cell rate
algorithm): each key stores one number, its theoretical arrival time `tat`; a request at
`now` is allowed when `max(tat, now) + interval - now <= B * interval` (interval = 60/R s),
and then moves `tat` on by one interval. The check and the update are one conditional
upsert inside the request's own transaction, so concurrent workers on PostgreSQL cannot
both take the last token (the row lock orders them), a restart does not reset a limit,
and no extra round trip is needed for the allowed case.

Why in the database rather than per process: with N uvicorn workers the kernel spreads
connections over them, so a per-process limit would let through anything between B and
N × B requests, and not predictably; the database is already on every request's path.

A row whose `tat` lies in the past means the same as no row (a full bucket), so such rows
can be removed at any time (`prune`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from sync.server import tables as t
from sync.server.storage import Transaction


@dataclass(frozen=True)
class Limit:
    per_minute: int
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute


def take(tx: Transaction, key: str, limit: Limit) -> int | None:
    """Take one request from `key`'s allowance: None if allowed, else the seconds to wait."""
    now = tx.now.timestamp()
    interval = limit.interval
    table = t.rate_limits
    greatest = func.greatest if tx.dialect == "postgresql" else func.max  # SQLite's max(a, b) is scalar
    next_tat = greatest(table.c.tat, now) + interval
    statement = (tx.insert_or(table).values(key=key, tat=now + interval)
                 .on_conflict_do_update(index_elements=[table.c.key], set_={"tat": next_tat},
                                        where=next_tat - now <= limit.burst * interval)
                 .returning(table.c.tat))
    if tx.conn.execute(statement).first() is not None:
        return None
    tat = tx.conn.execute(select(table.c.tat).where(table.c.key == key)).scalar_one()
    # allowed again once tat + interval - later <= burst * interval
    return max(1, math.ceil(tat - now - (limit.burst - 1) * interval))


def prune(tx: Transaction) -> None:
    """Drop rows that mean "full allowance" anyway (their tat has passed)."""
    tx.conn.execute(delete(t.rate_limits).where(t.rate_limits.c.tat < tx.now.timestamp()))
