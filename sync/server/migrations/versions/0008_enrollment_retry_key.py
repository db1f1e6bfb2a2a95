"""Enrolment codes remember the claiming device's retry key (hashed).

A device that enrolled but could not store its token (keyring failure) may use the same
code again for a few minutes with the same retry key: it gets the same device id and a
new token, and the first token stops working. See `sync.server.devices.enroll`.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrollment_codes", sa.Column("retry_key_hash", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("enrollment_codes") as batch:
        batch.drop_column("retry_key_hash")
