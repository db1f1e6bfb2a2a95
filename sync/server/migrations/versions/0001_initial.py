"""Initial schema: devices, enrolment codes, inclusions and their revisions, coverage,
bundles, the changes feed and the append-only audit log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("location", sa.String(200)),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("enrolled_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("enrollment_code_id", sa.Integer),
    )
    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("location", sa.String(200)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("device_id", sa.String(36)),
    )
    op.create_table(
        "inclusions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("duplicate_of", sa.String(36)),
        sa.Column("bundle", sa.String(100), nullable=False),
        sa.Column("bundle_version", sa.String(100), nullable=False),
        sa.Column("condition", sa.String(100), nullable=False),
        sa.Column("diagnosis", sa.String(20), nullable=False),
        sa.Column("side", sa.String(1)),
        sa.Column("episode_side", sa.String(1), nullable=False, server_default=""),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("insurer_uzovi", sa.String(4), nullable=False),
        sa.Column("insurer_source", sa.String(100), nullable=False),
        sa.Column("insurer_checked_at", TS, nullable=False),
        sa.Column("eligibility_status", sa.String(100), nullable=False),
        sa.Column("eligibility_rules", sa.Text, nullable=False),
        sa.Column("explained_by", sa.String(200)),
        sa.Column("explained_at", TS),
        sa.Column("explanation_language", sa.String(2)),
        sa.Column("handout_printed", sa.Boolean, nullable=False),
        sa.Column("agreed", sa.Boolean, nullable=False),
        sa.Column("clinician_agb", sa.String(8)),
        sa.Column("location", sa.String(200)),
        sa.Column("inclusion_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("initial_treatment", sa.String(200)),
        sa.Column("device_id", sa.String(100), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("withdrawn_at", TS),
        sa.Column("withdrawal_reason", sa.String(2000)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("pushed_by", sa.String(36), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_index("ix_inclusions_episode", "inclusions", ["bsn", "bundle", "condition", "episode_side"])
    op.create_index("ix_inclusions_inclusion_date", "inclusions", ["inclusion_date"])
    op.create_table(
        "inclusion_revisions",
        sa.Column("inclusion_id", sa.String(36), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("pushed_by", sa.String(36), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_table(
        "coverage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("uzovi", sa.String(4), nullable=False),
        sa.Column("insurer", sa.String(200)),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("imported_at", TS, nullable=False),
        sa.UniqueConstraint("bsn", "valid_from", name="uq_coverage_bsn_valid_from"),
    )
    op.create_table(
        "bundles",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("version", sa.String(100), primary_key=True),
        sa.Column("toml", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
    )
    op.create_table(
        "device_patients",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("bsn", sa.String(9), primary_key=True),
        sa.Column("since", TS, nullable=False),
    )
    op.create_table(
        "feed",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("origin_device", sa.String(36)),
        sa.Column("target_device", sa.String(36)),
        sa.Column("bsn", sa.String(9)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "feed_counter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO feed_counter (id, last_seq) VALUES (1, 0)")
    op.create_table(
        "audit_log",
        sa.Column("id", SEQ, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("system", sa.String(50), nullable=False),
        sa.Column("device_id", sa.String(36)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("patient_bsn", sa.String(9)),
        sa.Column("object_type", sa.String(50)),
        sa.Column("object_id", sa.String(100)),
        sa.Column("outcome", sa.String(50), nullable=False),
        sa.Column("details", sa.Text),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_device_at", "audit_log", ["device_id", "at"])
    op.create_index("ix_audit_log_patient", "audit_log", ["patient_bsn"])

    # NEN 7513: the audit log is append-only; inclusions are withdrawn, never deleted.
    if op.get_bind().dialect.name == "sqlite":
        for table, what in (("audit_log", "UPDATE"), ("audit_log", "DELETE"), ("inclusions", "DELETE")):
            op.execute(f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    else:
        op.execute("""CREATE FUNCTION bundelassistent_append_only() RETURNS trigger AS $$
                      BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION bundelassistent_append_only()")
        op.execute("CREATE TRIGGER inclusions_no_delete BEFORE DELETE ON inclusions "
                   "FOR EACH ROW EXECUTE FUNCTION bundelassistent_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS inclusions_no_delete ON inclusions")
        op.execute("DROP FUNCTION IF EXISTS bundelassistent_append_only()")
    for table in ("audit_log", "feed_counter", "feed", "device_patients", "bundles", "coverage",
                  "inclusion_revisions", "inclusions", "enrollment_codes", "devices"):
        op.drop_table(table)
