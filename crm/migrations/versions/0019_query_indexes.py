"""indexes for the lookups `/crm find|show|log` make that scanned a table at 1,000,000 customers

* ``lower(customer.email)``: a customer named by email (`/crm show ops@globex.com`, duplicate check
  on `/crm add`) compared ``lower(email)`` row by row: 1,000,000 rows read per lookup.
* ``lower(company.name)``: naming a company (`/crm show "Globex Corporation"`, `/crm add … company=`)
  scanned all 250,000 companies.
* ``deal(customer_id, amount)``: the card's open deals, biggest first, come out of the index in
  order instead of being sorted.

Index builds only read: the store stays readable while they run, writers wait (SQLite's write
lock, PostgreSQL's SHARE lock on the table); README's Benchmarks has the time on the 1M store.

Revision ID: 0019_query_indexes
Revises: 0017_command_done
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_query_indexes"
down_revision = "0017_command_done"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_customer_lower_email", "customer", [sa.text("lower(email)")]),
    ("ix_company_lower_name", "company", [sa.text("lower(name)")]),
    ("ix_deal_customer_amount", "deal", ["customer_id", "amount"]),
]


def upgrade() -> None:
    # plain builds inside the upgrade's one transaction (crm.db.Database.upgrade): CONCURRENTLY cannot
    # run in one, and none of these tables is the 10,000,000-row interaction table, so each build
    # takes seconds at 1,000,000 customers (measured, README's Benchmarks)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
