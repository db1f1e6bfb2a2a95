"""The decision support a device kept with an inclusion (model version, inputs and their sources,
both options' predictions): JSON, NULL for inclusions without it.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inclusions", sa.Column("decision_support", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("inclusions") as batch:
        batch.drop_column("decision_support")
