"""relay_pace: Slack's per-channel pace shared by every instance (issue 17)

Each instance kept its own count of posts per channel, so two instances relaying into one inbox
channel could post twice Slack's allowance there. The count now lives in one row per channel.

Revision ID: 0023_relay_pace
Revises: 0019_query_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_relay_pace"
down_revision = "0019_query_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_pace",
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("slot_at", sa.Float(), nullable=False),
        sa.Column("left_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("relay_pace")
