"""accepted_command.done_at: the journal row is also the command's exactly-once claim

A slash command's trigger id used to be written three times (the journal row, a processed_event
claim, the interaction's source); the engine now claims the work by stamping ``done_at`` on the
journal row in the work's own transaction, so the processed_event row is no longer written.

Revision ID: 0017_command_done
Revises: 0016_telegram_inbound
"""
import sqlalchemy as sa
from alembic import op

from crm.types import UTCDateTime

revision = "0017_command_done"
down_revision = "0016_telegram_inbound"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accepted_command", sa.Column("done_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accepted_command") as batch:
        batch.drop_column("done_at")
