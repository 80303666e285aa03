"""accepted commands: a slash command is journaled before its ack; joins the three branches

Revision ID: 0009_accepted_commands
Revises: 0004_telegram, 0005_insights, 0008_campaigns
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0009_accepted_commands"
down_revision = ("0004_telegram", "0005_insights", "0008_campaigns")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accepted_command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("reply_to", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "delivery_id", name="uq_accepted_command"),
    )
    op.create_index("ix_accepted_command_claimed_at", "accepted_command", ["claimed_at"])
    op.create_index("ix_accepted_command_created_at", "accepted_command", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_accepted_command_created_at", table_name="accepted_command")
    op.drop_index("ix_accepted_command_claimed_at", table_name="accepted_command")
    op.drop_table("accepted_command")
