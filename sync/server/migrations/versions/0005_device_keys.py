"""Device database keys in escrow: each device's SQLCipher key, sealed with the server's
key-encryption key, so IT can recover a device whose keyring was lost.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("key_fingerprint", sa.String(64), nullable=False),
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("deposited_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("device_id", "key_fingerprint", name="uq_device_keys_device_fingerprint"),
    )


def downgrade() -> None:
    op.drop_table("device_keys")
