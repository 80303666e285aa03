"""customer.external_id: the id a customer has in the system it was imported from (unique when set)

Revision ID: 0013_customer_external_id
Revises: 0009_accepted_commands
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_customer_external_id"
down_revision = "0009_accepted_commands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer", sa.Column("external_id", sa.String(length=100), nullable=True))
    op.create_index("uq_customer_external_id", "customer", ["external_id"], unique=True,
                    sqlite_where=sa.text("external_id IS NOT NULL"),
                    postgresql_where=sa.text("external_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_customer_external_id", table_name="customer")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("external_id")
