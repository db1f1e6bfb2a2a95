"""Refused requests, counted per source address and minute instead of written one by one.

A request without valid credentials (no token, an unknown or revoked one) or over a
rate limit (lookups per device, enrolments per address) used to commit a row of its
own, so a flood grew the database without bound and, on SQLite, queued up behind the
write lock with the real pushes.
Now the app only counts it in memory; once a minute is over, its counts become audit
rows — one per (source, action, outcome, device) with the count in `details` — written
in one transaction. The audit log stays append-only (INSERT only), and it still says
who knocked, how often and when. At shutdown everything counted so far is written; a
crash loses at most the current minute's counts.

The number of distinct keys per minute is capped: beyond it, further sources are
counted together under `SOURCE_OVERFLOW`, so memory stays bounded too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sync.server.storage import Storage, Transaction, utc_now

log = logging.getLogger("bundelassistent.server")

MAX_KEYS = 10_000
SOURCE_OVERFLOW = "overige bronnen"
FLUSH_INTERVAL = 5.0


@dataclass(frozen=True)
class _Key:
    minute: dt.datetime
    source: str
    action: str
    outcome: str
    device_id: str | None


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


class RefusedRequests:
    """Thread-safe counters; `flush` writes the minutes that are over."""

    def __init__(self, max_keys: int = MAX_KEYS):
        self.max_keys = max_keys
        self._counts: dict[_Key, int] = {}
        self._lock = threading.Lock()

    def count(self, source: str | None, action: str, outcome: str, device_id: str | None = None,
              now: dt.datetime | None = None) -> None:
        key = _Key(_minute(now or utc_now()), (source or "onbekend")[:100], action, outcome, device_id)
        with self._lock:
            if key not in self._counts and len(self._counts) >= self.max_keys:
                key = _Key(key.minute, SOURCE_OVERFLOW, action, outcome, None)
            self._counts[key] = self._counts.get(key, 0) + 1

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def flush(self, storage: Storage, everything: bool = False, now: dt.datetime | None = None) -> int:
        """Write the counts of finished minutes (all of them with `everything`); returns rows written."""
        current = _minute(now or utc_now())
        with self._lock:
            due = {key: n for key, n in self._counts.items() if everything or key.minute < current}
            for key in due:
                del self._counts[key]
        if not due:
            return 0

        def work(tx: Transaction) -> None:
            for key, n in sorted(due.items(), key=lambda item: (item[0].minute, item[0].source)):
                tx.audit(key.action, key.outcome, device_id=key.device_id,
                         actor=f"device:{key.device_id}" if key.device_id else "onbekend apparaat",
                         object_type="source", object_id=key.source, at=key.minute,
                         details={"count": n, "minute": key.minute.isoformat(), "aggregated": True})

        try:
            storage.write(work)
        except Exception:  # the database is away: keep the counts for the next flush
            with self._lock:
                for key, n in due.items():
                    self._counts[key] = self._counts.get(key, 0) + n
            raise
        return len(due)


class Flusher:
    """A background thread that writes finished minutes every few seconds, and the rest at stop."""

    def __init__(self, refused: RefusedRequests, storage: Storage, interval: float = FLUSH_INTERVAL):
        self.refused, self.storage, self.interval = refused, storage, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refused-requests", daemon=True)

    def start(self) -> Flusher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._flush(everything=False)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._flush(everything=True)

    def _flush(self, everything: bool) -> None:
        try:
            self.refused.flush(self.storage, everything=everything)
        except Exception as error:  # logged without details: they could hold request data
            log.warning("geweigerde verzoeken konden niet in het auditlog: %s", type(error).__name__)
