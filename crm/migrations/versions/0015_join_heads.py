"""Join the four branches of this round (erasure, relayed messages, external ids, understanding).

They were written side by side, each on 0009; this revision makes the history one line again, so
`alembic heads` shows a single head and the next migration has one parent.

Revision ID: 0015_join_heads
"""
from __future__ import annotations

revision = "0015_join_heads"
down_revision = ("0010_erasure", "0011_relayed_messages", "0013_customer_external_id", "0014_understanding")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
