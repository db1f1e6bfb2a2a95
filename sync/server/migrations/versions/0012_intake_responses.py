"""Intake questionnaires from the PROM platform, as baseline columns, for the devices' lookup.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_responses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_key", sa.String(200), nullable=False, unique=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("completed_on", sa.Date, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_intake_responses_patient", "intake_responses", ["bsn", "completed_on"])


def downgrade() -> None:
    op.drop_index("ix_intake_responses_patient", table_name="intake_responses")
    op.drop_table("intake_responses")
