"""customer search index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL; a word index of
Chinese characters and pairs (search_cjk) for names too short for trigrams

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    # external-content table: the text lives once, in customer.search_text
    """CREATE VIRTUAL TABLE customer_fts USING fts5(
           search_text, content='customer', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER customer_fts_ai AFTER INSERT ON customer BEGIN
           INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER customer_fts_ad AFTER DELETE ON customer BEGIN
           INSERT INTO customer_fts(customer_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER customer_fts_au AFTER UPDATE OF search_text ON customer BEGIN
           INSERT INTO customer_fts(customer_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
           INSERT INTO customer_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    "INSERT INTO customer_fts(customer_fts) VALUES ('rebuild')",
    """CREATE VIRTUAL TABLE customer_fts_cjk USING fts5(
           search_cjk, content='customer', content_rowid='id', tokenize='unicode61')""",
    """CREATE TRIGGER customer_fts_cjk_ai AFTER INSERT ON customer BEGIN
           INSERT INTO customer_fts_cjk(rowid, search_cjk) VALUES (new.id, new.search_cjk);
       END""",
    """CREATE TRIGGER customer_fts_cjk_ad AFTER DELETE ON customer BEGIN
           INSERT INTO customer_fts_cjk(customer_fts_cjk, rowid, search_cjk) VALUES ('delete', old.id, old.search_cjk);
       END""",
    """CREATE TRIGGER customer_fts_cjk_au AFTER UPDATE OF search_cjk ON customer BEGIN
           INSERT INTO customer_fts_cjk(customer_fts_cjk, rowid, search_cjk) VALUES ('delete', old.id, old.search_cjk);
           INSERT INTO customer_fts_cjk(rowid, search_cjk) VALUES (new.id, new.search_cjk);
       END""",
    "INSERT INTO customer_fts_cjk(customer_fts_cjk) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS customer_fts_cjk_au",
    "DROP TRIGGER IF EXISTS customer_fts_cjk_ad",
    "DROP TRIGGER IF EXISTS customer_fts_cjk_ai",
    "DROP TABLE IF EXISTS customer_fts_cjk",
    "DROP TRIGGER IF EXISTS customer_fts_au",
    "DROP TRIGGER IF EXISTS customer_fts_ad",
    "DROP TRIGGER IF EXISTS customer_fts_ai",
    "DROP TABLE IF EXISTS customer_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_customer_search_trgm ON customer USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX ix_customer_search_cjk ON customer USING gin (to_tsvector('simple', search_cjk))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_customer_search_cjk", "DROP INDEX IF EXISTS ix_customer_search_trgm"]


def _run(statements):
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    name = op.get_bind().dialect.name
    if name == "sqlite":
        _run(SQLITE_UP)
    elif name == "postgresql":
        _run(POSTGRES_UP)


def downgrade() -> None:
    name = op.get_bind().dialect.name
    if name == "sqlite":
        _run(SQLITE_DOWN)
    elif name == "postgresql":
        _run(POSTGRES_DOWN)
