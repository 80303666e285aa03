"""telegram_inbound: Telegram updates stored as they arrive, before they are acknowledged (issue 17)

Revision ID: 0016_telegram_inbound
Revises: 0015_join_heads
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0016_telegram_inbound"
down_revision = "0015_join_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("update_id"),
    )
    op.create_index("ix_telegram_inbound_processed_at", "telegram_inbound", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_telegram_inbound_processed_at", table_name="telegram_inbound")
    op.drop_table("telegram_inbound")
