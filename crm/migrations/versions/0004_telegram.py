"""customer inbox: outbox of Telegram/Slack sends, and Telegram button keys

Revision ID: 0004_telegram
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import crm.types

revision = "0004_telegram"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", crm.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("claimed_at", crm.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", crm.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["interaction_id"], ["interaction.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_outbox_status_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_outbox_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_outbox_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "telegram_callback",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("form", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("confirm", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("telegram_callback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_callback_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_telegram_callback_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("telegram_callback")
    op.drop_table("inbox_outbox")
