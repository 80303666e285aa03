"""indexes for the lookups `/crm find|show|log` make that scanned a table at 1,000,000 customers

* ``lower(customer.email)``: a customer named by email (`/crm show ops@globex.com`, duplicate check
  on `/crm add`) compared ``lower(email)`` row by row: 1,000,000 rows read per lookup.
* ``lower(company.name)``: naming a company (`/crm show "Globex Corporation"`, `/crm add … company=`)
  scanned all 250,000 companies.
* ``interaction(customer_id, staff_id, occurred_at)``: `/crm intro` reads a colleague's last
  interaction with each customer on the path; SQLite chose the (staff_id, occurred_at) index and
  walked the colleague's whole history (~770,000 rows at 1M) until that customer came up: 48 ms
  per hop at 100k.
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
    ("ix_interaction_customer_staff_occurred", "interaction", ["customer_id", "staff_id", "occurred_at"]),
]


def upgrade() -> None:
    # plain builds inside the upgrade's one transaction (crm.db.Database.upgrade): CONCURRENTLY cannot
    # run in one. Reads go on while they run; writes wait (README's Benchmarks: the time at 1M)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
