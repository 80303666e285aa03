"""insights: next-best-action priority per customer, reasons kept with recommendation feedback

Revision ID: 0005_insights
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_insights"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_insight") as batch:
        batch.add_column(sa.Column("priority", sa.Float(), nullable=True))
        batch.add_column(sa.Column("priority_reasons", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("recommendation_feedback") as batch:
        batch.add_column(sa.Column("reason_kinds", sa.String(length=200), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("recommendation_feedback") as batch:
        batch.drop_column("reason_kinds")
    with op.batch_alter_table("customer_insight") as batch:
        batch.drop_column("priority_reasons")
        batch.drop_column("priority")
