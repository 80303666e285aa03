"""relayed messages: which Telegram message a Slack thread message became (and back), for edits and deletes

Revision ID: 0011_relayed_messages
Revises: 0009_accepted_commands
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0011_relayed_messages"
down_revision = "0009_accepted_commands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relayed_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("slack_channel", sa.String(length=32), nullable=False),
        sa.Column("slack_ts", sa.String(length=32), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["interaction_id"], ["interaction.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relayed_message_slack", "relayed_message", ["slack_channel", "slack_ts"])
    op.create_index("ix_relayed_message_telegram", "relayed_message", ["telegram_chat_id", "telegram_message_id"])


def downgrade() -> None:
    op.drop_index("ix_relayed_message_telegram", table_name="relayed_message")
    op.drop_index("ix_relayed_message_slack", table_name="relayed_message")
    op.drop_table("relayed_message")
