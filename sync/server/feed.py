"""The changes feed a device pulls with a cursor.

A device sees: accepted inclusions and withdrawals pushed by OTHER devices, every bundle
definition change, and the coverage entries addressed to it (only for patients it knows;
see `coverage`). Sequence numbers are assigned at commit time under the counter lock (see
`storage`), so everything up to the highest visible seq is committed: a page may safely
end at that seq even when no entry in it is for this device, and a late commit can never
land behind a cursor.
"""

from __future__ import annotations

import json

from sqlalchemy import and_, func, or_, select

from sync.protocol import BundleDefinition, Change, ChangesResponse, CoverageEntry, InclusionSummary
from sync.server import tables as t
from sync.server.devices import Device
from sync.server.storage import Transaction


def changes(tx: Transaction, device: Device, cursor: int, limit: int) -> ChangesResponse:
    """One page of the feed after `cursor`; the pull and every disclosed patient are audited."""
    f = t.feed.c
    for_me = and_(
        or_(f.target_device.is_(None), f.target_device == device.id),
        or_(f.origin_device.is_(None), f.origin_device != device.id),
    )
    # Everything at or below the highest seq is committed (seqs are taken at commit).
    high = tx.conn.execute(select(func.max(f.seq))).scalar() or 0
    rows = tx.conn.execute(select(f.seq, f.kind, f.payload)
                           .where(f.seq > cursor, f.seq <= high, for_me)
                           .order_by(f.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].seq if more else max(cursor, high)
    items = [_change(row) for row in rows]
    tx.audit("sync_pull", "ok", device_id=device.id, object_type="feed",
             details={"cursor": cursor, "next_cursor": next_cursor, "changes": len(items)})
    for item in items:
        if item.inclusion is not None:
            tx.audit("inclusion_disclose", "ok", device_id=device.id, patient_bsn=item.inclusion.bsn,
                     object_type="inclusion", object_id=str(item.inclusion.id))
        elif item.coverage is not None:
            tx.audit("coverage_disclose", "ok", device_id=device.id, patient_bsn=item.coverage.bsn,
                     object_type="coverage")
    return ChangesResponse(changes=items, next_cursor=next_cursor, more=more)


def _change(row) -> Change:
    payload = json.loads(row.payload)
    if row.kind == "inclusion":
        return Change(seq=row.seq, kind="inclusion", inclusion=InclusionSummary.model_validate(payload))
    if row.kind == "bundle":
        return Change(seq=row.seq, kind="bundle", bundle=BundleDefinition.model_validate(payload))
    return Change(seq=row.seq, kind="coverage", coverage=CoverageEntry.model_validate(payload))
