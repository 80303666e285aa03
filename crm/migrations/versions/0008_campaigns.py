"""campaigns: recipient claims for a resumable send, campaign finish time, worker leases

Revision ID: 0008_campaigns
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0008_campaigns"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("finished_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("campaign_recipient") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("claimed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("attempted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "worker_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("worker_lease")
    with op.batch_alter_table("campaign_recipient") as batch:
        batch.drop_column("attempts")
        batch.drop_column("attempted_at")
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("finished_at")
