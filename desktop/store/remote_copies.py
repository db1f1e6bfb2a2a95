"""Remote copies in the local database: what the server sends back.

The changes feed brings other devices' inclusions (`remote_inclusions`, so a second
inclusion of the same patient is seen here before the server refuses it) and insurer
coverage (`coverage_cache`, also filled by this device's own lookups); this device's own
intake lookups fill `intake_cache`, for a consultation while the server is away. This
device's own records are never stored as remote copies: its own table is the truth for them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from desktop.core.states import InsurerSource
from desktop.store.inclusions import Registry, utc_now


def store_changes(registry: Registry, inclusions: Iterable[dict[str, Any]],
                  coverage: Iterable[dict[str, Any]], next_cursor: int) -> None:
    """Store one page of the changes feed together with its cursor (resumable)."""
    now = utc_now()
    inclusions, coverage = list(inclusions), list(coverage)

    def work() -> None:
        own = registry.db.execute("SELECT id FROM inclusions WHERE id IN (SELECT value FROM json_each(?))",
                                  [json.dumps([row["id"] for row in inclusions])]).fetchall()
        own_ids = {row[0] for row in own}
        rows = [{**row, "received_at": now} for row in inclusions if row["id"] not in own_ids]
        if rows:
            registry.db.table("remote_inclusions").upsert_all(rows, pk="id")
        for entry in coverage:
            cache_coverage(registry, entry, InsurerSource.SERVER, now)
        registry.set_meta({"sync_cursor": str(next_cursor)})

    registry.write(work)


def cache_coverage(registry: Registry, entry: dict[str, Any], source: str, checked_at: str) -> None:
    row = {"bsn": entry["bsn"], "valid_from": str(entry["valid_from"]),
           "valid_to": str(entry["valid_to"]) if entry.get("valid_to") else None,
           "uzovi": entry["uzovi"], "insurer": entry.get("insurer"), "checked_at": checked_at, "source": source}
    registry.write_or_join(lambda: registry.db.table("coverage_cache").upsert(row, pk=("bsn", "valid_from")))


def cached_coverage(registry: Registry, bsn: str, on: dt.date) -> dict[str, Any] | None:
    """The cached insurer valid on a date, most recently checked first."""
    day = on.isoformat()
    rows = list(registry.db["coverage_cache"].rows_where(
        "bsn = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?)", [bsn, day, day],
        order_by="checked_at DESC", limit=1))
    return rows[0] if rows else None


def cache_intake(registry: Registry, bsn: str, birth_date: dt.date, completed_on: dt.date,
                 completed_at: str | None, values: dict[str, Any], checked_at: str) -> None:
    """Keep an intake the server answered; the newest answer for a day replaces the older."""
    row = {"bsn": bsn, "birth_date": birth_date.isoformat(), "completed_on": completed_on.isoformat(),
           "completed_at": completed_at, "answers": json.dumps(values, ensure_ascii=False),
           "checked_at": checked_at}
    registry.write_or_join(lambda: registry.db.table("intake_cache").upsert(
        row, pk=("bsn", "birth_date", "completed_on")))


def forget_intakes(registry: Registry, bsn: str, birth_date: dt.date, on: dt.date,
                   after: dt.date | None = None) -> None:
    """Drop the cached intakes of this patient completed on or before `on` (and after `after`):
    the server answered for that period, so what the cache holds there it no longer has
    (removed, corrected to another patient, or now another organisation's)."""
    where = "bsn = ? AND birth_date = ? AND completed_on <= ?" + (" AND completed_on > ?" if after else "")
    args = [bsn, birth_date.isoformat(), on.isoformat(), *([after.isoformat()] if after else [])]
    registry.write_or_join(lambda: registry.db.table("intake_cache").delete_where(where, args))


def cached_intake(registry: Registry, bsn: str, birth_date: dt.date, on: dt.date) -> dict[str, Any] | None:
    """The newest cached intake completed on or before `on`, only for this BSN *and* birth date
    (the server's own rule: a wrong birth date finds nothing)."""
    rows = list(registry.db["intake_cache"].rows_where(
        "bsn = ? AND birth_date = ? AND completed_on <= ?", [bsn, birth_date.isoformat(), on.isoformat()],
        order_by="completed_on DESC, completed_at DESC", limit=1))
    if not rows:
        return None
    row = rows[0]
    values = json.loads(row.pop("answers"))
    return {**row, "values": values}
