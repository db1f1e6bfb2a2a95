"""Intake questionnaires may belong to one organisation: only its devices can look them up.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("intake_responses", sa.Column("organisation", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("intake_responses") as batch:
        batch.drop_column("organisation")
