"""erasure tombstones: chats whose customer asked to be forgotten (their old messages stay out)

Revision ID: 0010_erasure
Revises: 0009_accepted_commands
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0010_erasure"
down_revision = "0009_accepted_commands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_chat",
        sa.Column("key", sa.String(length=64), nullable=False),  # sha256 of platform and chat id, not the id
        sa.Column("erased_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("erased_chat")
