"""Every refused request in one place: the audit log, as rows per source and minute.

Rate-limited lookups and enrolments were counted in `refused_requests`, a table the
server updates in place, while refused tokens already went to the audit log as one row
per source and minute. An auditor had two places to look, and one of them could be
rewritten by the application role (it has UPDATE there, never on `audit_log`). Now both
are counted in memory and written as aggregated audit rows (sync/server/refused.py).
The counts in `refused_requests` are copied into the audit log as such rows, then the
table goes. A downgrade brings back an empty table (the copied rows stay in the log:
it is append-only).

Revision ID: 0011
Revises: 0010
"""
import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SYSTEM_NAME = "Bundelassistent-server"
DEVICE_PREFIX = "device:"

audit_log = sa.table(
    "audit_log", sa.column("at", TS), sa.column("system", sa.String), sa.column("device_id", sa.String),
    sa.column("actor", sa.String), sa.column("action", sa.String), sa.column("object_type", sa.String),
    sa.column("object_id", sa.String), sa.column("outcome", sa.String), sa.column("details", sa.Text))
refused_requests = sa.table(
    "refused_requests", sa.column("minute", TS), sa.column("source", sa.String), sa.column("action", sa.String),
    sa.column("outcome", sa.String), sa.column("count", sa.Integer), sa.column("last_at", TS))


def _audit_row(row) -> dict:
    """The shape `RefusedRequests.flush` writes; a source `device:<id>` names the device."""
    device_id = row.source[len(DEVICE_PREFIX):] if row.source.startswith(DEVICE_PREFIX) else None
    minute = row.minute if row.minute.tzinfo else row.minute.replace(tzinfo=dt.UTC)  # SQLite: naive UTC
    return {"at": row.minute, "system": SYSTEM_NAME, "device_id": device_id,
            "actor": row.source if device_id else "onbekend apparaat", "action": row.action,
            "object_type": "source", "object_id": row.source, "outcome": row.outcome,
            "details": json.dumps({"aggregated": True, "count": row.count, "minute": minute.isoformat(),
                                   "migrated_from": "refused_requests"}, sort_keys=True)}


def upgrade() -> None:
    bind = op.get_bind()
    rows = [_audit_row(row) for row in bind.execute(sa.select(refused_requests).order_by(
        refused_requests.c.minute, refused_requests.c.source, refused_requests.c.action))]
    if rows:
        bind.execute(sa.insert(audit_log), rows)
    op.drop_table("refused_requests")


def downgrade() -> None:
    op.create_table(
        "refused_requests",
        sa.Column("minute", TS, primary_key=True),
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("action", sa.String(50), primary_key=True),
        sa.Column("outcome", sa.String(50), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", TS, nullable=False),
    )
