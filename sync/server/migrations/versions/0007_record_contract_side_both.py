"""The record contract of the device: side `both` fits the side columns.

The device registers an inclusion of both hands (side `both`); the server now accepts
it, so `side` and `episode_side` must hold it. On SQLite the table is rebuilt (batch
mode), which drops its triggers: the one that refuses deletes is created again.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inclusions") as batch:
        batch.alter_column("side", type_=sa.String(4), existing_type=sa.String(1))
        batch.alter_column("episode_side", type_=sa.String(4), existing_type=sa.String(1), existing_nullable=False,
                           existing_server_default="")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS inclusions_no_delete")
        op.execute("CREATE TRIGGER inclusions_no_delete BEFORE DELETE ON inclusions "
                   "BEGIN SELECT RAISE(ABORT, 'inclusions is append-only'); END")


def downgrade() -> None:
    with op.batch_alter_table("inclusions") as batch:
        batch.alter_column("episode_side", type_=sa.String(1), existing_type=sa.String(4), existing_nullable=False,
                           existing_server_default="")
        batch.alter_column("side", type_=sa.String(1), existing_type=sa.String(4))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS inclusions_no_delete")
        op.execute("CREATE TRIGGER inclusions_no_delete BEFORE DELETE ON inclusions "
                   "BEGIN SELECT RAISE(ABORT, 'inclusions is append-only'); END")
