"""Ownership of a record: the device that first pushed it, and the last revision received.

`owner_device` is filled from the first stored revision's sender (`pushed_by` as the
fallback); `last_revision` starts at the stored revision. Both stay nullable at the
database level: making them NOT NULL on SQLite would rebuild the table and lose its
append-only trigger; the server always writes them.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inclusions", sa.Column("owner_device", sa.String(36)))
    op.add_column("inclusions", sa.Column("last_revision", sa.Integer))
    op.execute("""UPDATE inclusions SET
                    owner_device = COALESCE((SELECT r.pushed_by FROM inclusion_revisions r
                                             WHERE r.inclusion_id = inclusions.id
                                             ORDER BY r.revision LIMIT 1), pushed_by),
                    last_revision = revision""")


def downgrade() -> None:
    with op.batch_alter_table("inclusions") as batch:
        batch.drop_column("last_revision")
        batch.drop_column("owner_device")
