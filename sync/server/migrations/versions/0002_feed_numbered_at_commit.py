"""Feed rows get their seq at COMMIT: an internal id as key, seq unique and filled in by a
deferred trigger on PostgreSQL (on SQLite the server numbers them; writers take turns).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# Each feed row inserted in a transaction is numbered when that transaction commits, under
# the row lock of feed_counter, which is held until the commit is visible. So seq follows
# commit order, and a reader that sees seq N has seen every lower seq.
NUMBER_AT_COMMIT = """
CREATE FUNCTION bundelassistent_feed_number() RETURNS trigger AS $$
DECLARE
    next_seq bigint;
BEGIN
    UPDATE feed_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq INTO next_seq;
    UPDATE feed SET seq = next_seq WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "feed_new",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("origin_device", sa.String(36)),
        sa.Column("target_device", sa.String(36)),
        sa.Column("bsn", sa.String(9)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.execute("INSERT INTO feed_new (seq, kind, origin_device, target_device, bsn, payload, created_at) "
               "SELECT seq, kind, origin_device, target_device, bsn, payload, created_at FROM feed ORDER BY seq")
    op.drop_table("feed")
    op.rename_table("feed_new", "feed")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX feed_new_pkey RENAME TO feed_pkey")
        op.execute("ALTER TABLE feed RENAME CONSTRAINT feed_new_seq_key TO feed_seq_key")
        op.execute("ALTER SEQUENCE feed_new_id_seq RENAME TO feed_id_seq")
        op.execute(NUMBER_AT_COMMIT)
        op.execute("CREATE CONSTRAINT TRIGGER feed_number_at_commit AFTER INSERT ON feed "
                   "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bundelassistent_feed_number()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS feed_number_at_commit ON feed")
        op.execute("DROP FUNCTION IF EXISTS bundelassistent_feed_number()")
    op.create_table(
        "feed_old",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("origin_device", sa.String(36)),
        sa.Column("target_device", sa.String(36)),
        sa.Column("bsn", sa.String(9)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.execute("INSERT INTO feed_old SELECT seq, kind, origin_device, target_device, bsn, payload, created_at "
               "FROM feed WHERE seq IS NOT NULL")
    op.drop_table("feed")
    op.rename_table("feed_old", "feed")
