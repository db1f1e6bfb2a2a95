"""The changes feed a device pulls with a cursor.

A device sees: accepted inclusions and withdrawals pushed by OTHER devices of its own
organisation (each as an `InclusionSummary`: only what the active-episode check needs),
every bundle definition change, and the coverage entries addressed to it (only for
patients it knows; see `coverage`). Sequence numbers are assigned at commit time under the counter lock (see
`storage`), so everything up to the highest visible seq is committed: a page may safely
end at that seq even when no entry in it is for this device, and a late commit can never
land behind a cursor.
"""

from __future__ import annotations

import json

from sqlalchemy import and_, func, or_, select

from sync.server import tables as t
from sync.server.devices import Device
from sync.server.storage import Transaction


def changes(tx: Transaction, device: Device, cursor: int, limit: int) -> bytes:
    """One page of the feed after `cursor`, as `ChangesResponse` JSON; the pull and every
    disclosed patient are audited.

    The page is assembled from the stored payloads (each written from its protocol model,
    see `Transaction.feed`) instead of being parsed into models and serialised again: a
    catching-up device pulls up to 1000 changes per request.
    """
    f = t.feed.c
    for_me = and_(
        or_(f.target_device.is_(None), f.target_device == device.id),
        or_(f.origin_device.is_(None), f.origin_device != device.id),
        or_(f.organisation.is_(None), f.organisation == device.organisation),
    )
    # Everything at or below the highest seq is committed (seqs are taken at commit).
    high = tx.conn.execute(select(func.max(f.seq))).scalar() or 0
    rows = tx.conn.execute(select(f.seq, f.kind, f.bsn, f.payload)
                           .where(f.seq > cursor, f.seq <= high, for_me)
                           .order_by(f.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].seq if more else max(cursor, high)
    tx.audit("sync_pull", "ok", device_id=device.id, object_type="feed",
             details={"cursor": cursor, "next_cursor": next_cursor, "changes": len(rows)})
    parts = []
    for row in rows:
        if row.kind not in KINDS:
            raise ValueError(f"onbekende feedsoort {row.kind!r}")
        if row.kind == "inclusion":
            tx.audit("inclusion_disclose", "ok", device_id=device.id, patient_bsn=row.bsn,
                     object_type="inclusion", object_id=json.loads(row.payload)["id"])
        elif row.kind == "coverage":
            tx.audit("coverage_disclose", "ok", device_id=device.id, patient_bsn=row.bsn, object_type="coverage")
        slots = {kind: (row.payload if kind == row.kind else "null") for kind in KINDS}
        parts.append(f'{{"seq":{int(row.seq)},"kind":"{row.kind}","inclusion":{slots["inclusion"]},'
                     f'"bundle":{slots["bundle"]},"coverage":{slots["coverage"]}}}')
    body = f'{{"changes":[{",".join(parts)}],"next_cursor":{int(next_cursor)},"more":{"true" if more else "false"}}}'
    return body.encode("utf-8")


KINDS = ("inclusion", "bundle", "coverage")
