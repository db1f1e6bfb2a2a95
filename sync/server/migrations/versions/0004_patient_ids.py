"""Random per-patient ids for exports: FHIR Patient.id and the research pseudonym.

Until now Patient.id was a UUID5 of the BSN with a constant from the source, so anyone
with the source could recover a BSN from an export. The ids are drawn (uuid4) the first
time a patient is exported and kept here, so they stay the same across exports.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("bsn", sa.String(9), primary_key=True),
        sa.Column("fhir_id", sa.String(36), nullable=False, unique=True),
        sa.Column("research_id", sa.String(36), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("patients")
