"""Protocol 2, disclose no wider than needed: organisations, birth dates, rate limits.

* devices and enrolment codes get an organisation; every existing one gets 'standaard',
  so a server that served one organisation keeps sharing inclusions as before;
* feed rows get the organisation they are for: existing inclusion rows get 'standaard'
  (all existing devices are in it) and lose the fields protocol 2 no longer sends
  (birth_date, location, device_id), so an old feed page discloses no more than a new one;
* coverage rows get the patient's birth date: NULL for rows imported before, which no
  lookup answers until IT imports the file again with the birth_date column;
* device_patients is keyed by (device, bsn, birth date as the device gave it). Existing
  rows keep the birth date of the device's own inclusion of that patient; rows that came
  from lookups alone are dropped (those lookups checked no birth date), and the device
  is told the patient's coverage again after its next lookup;
* rate_limits (one GCRA time per key) and refused_requests (counted refusals) are new.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
DEFAULT = "standaard"
DROPPED_FEED_FIELDS = ("birth_date", "location", "device_id")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ("devices", "enrollment_codes"):
        op.add_column(table, sa.Column("organisation", sa.String(200), nullable=False, server_default=DEFAULT))
    op.add_column("feed", sa.Column("organisation", sa.String(200)))
    if postgresql:
        stripped = "(payload::jsonb" + "".join(f" - '{name}'" for name in DROPPED_FEED_FIELDS) + ")::text"
    else:
        stripped = "json_remove(payload" + "".join(f", '$.{name}'" for name in DROPPED_FEED_FIELDS) + ")"
    op.execute(f"UPDATE feed SET organisation = '{DEFAULT}', payload = {stripped} WHERE kind = 'inclusion'")
    op.add_column("coverage", sa.Column("birth_date", sa.Date))

    op.create_table(
        "device_patients_new",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("bsn", sa.String(9), primary_key=True),
        sa.Column("birth_date", sa.Date, primary_key=True),
        sa.Column("since", TS, nullable=False),
    )
    op.execute("INSERT INTO device_patients_new (device_id, bsn, birth_date, since) "
               "SELECT DISTINCT p.device_id, p.bsn, i.birth_date, p.since FROM device_patients p "
               "JOIN inclusions i ON i.bsn = p.bsn AND i.pushed_by = p.device_id")
    op.drop_table("device_patients")
    op.rename_table("device_patients_new", "device_patients")
    if postgresql:
        op.execute("ALTER INDEX device_patients_new_pkey RENAME TO device_patients_pkey")

    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("tat", sa.Float, nullable=False),
    )
    op.create_table(
        "refused_requests",
        sa.Column("minute", TS, primary_key=True),
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("action", sa.String(50), primary_key=True),
        sa.Column("outcome", sa.String(50), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refused_requests")
    op.drop_table("rate_limits")
    op.create_table(
        "device_patients_old",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("bsn", sa.String(9), primary_key=True),
        sa.Column("since", TS, nullable=False),
    )
    op.execute("INSERT INTO device_patients_old (device_id, bsn, since) "
               "SELECT device_id, bsn, min(since) FROM device_patients GROUP BY device_id, bsn")
    op.drop_table("device_patients")
    op.rename_table("device_patients_old", "device_patients")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX device_patients_old_pkey RENAME TO device_patients_pkey")
    with op.batch_alter_table("coverage") as batch:
        batch.drop_column("birth_date")
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("organisation")
    for table in ("enrollment_codes", "devices"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("organisation")
