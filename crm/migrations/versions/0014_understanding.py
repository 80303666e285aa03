"""understanding: staff notes waiting for Confirm; what customers' messages were read as

Revision ID: 0014_understanding
Revises: 0009_accepted_commands
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0014_understanding"
down_revision = "0009_accepted_commands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("draft", sa.Text(), server_default="{}", nullable=False),
        sa.Column("result", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pending_note_staff_id", "pending_note", ["staff_id"])
    op.create_index("ix_pending_note_created_at", "pending_note", ["created_at"])
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("intent", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("intent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("sentiment", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("urgency", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("tags", sa.String(length=500), server_default="", nullable=False))
    op.create_index("ix_ticket_intent", "ticket", ["intent"])


def downgrade() -> None:
    op.drop_index("ix_ticket_intent", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        for column in ("tags", "urgency", "sentiment", "intent_at", "intent"):
            batch.drop_column(column)
    op.drop_index("ix_pending_note_created_at", table_name="pending_note")
    op.drop_index("ix_pending_note_staff_id", table_name="pending_note")
    op.drop_table("pending_note")
