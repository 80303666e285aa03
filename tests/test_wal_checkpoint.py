"""SQLite's WAL is checkpointed by a background thread, never inside a command's commit.

By default the commit that grows the WAL past 1,000 pages copies them into the database file and
fsyncs before returning; at 1,000,000 customers that was one `/crm log` in ~80 waiting 20-50 ms
(bench/bench_commands.py). The store's connections do not checkpoint; crm.db.WalCheckpointer does.
"""
from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import text

from crm.customers import create_customer
from crm.db import Database
from crm.encryption import sqlite_path

pytestmark = pytest.mark.sqlite_only


def _in_the_file(path, name: str) -> bool:
    """Whether ``name`` is in the database file itself, ignoring the WAL (immutable: no WAL read)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM customer WHERE name = ?", (name,)).fetchone()[0] == 1
    finally:
        conn.close()


def test_commits_leave_checkpoints_to_the_background(db):
    if db.url.startswith("sqlite+pysqlcipher"):
        pytest.skip("the file is encrypted: the test reads it with plain sqlite3")
    with db.write_session() as s:
        assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        create_customer(s, "Checkpointed Later")
    path = sqlite_path(db.url)
    deadline = time.monotonic() + 10
    while not _in_the_file(path, "Checkpointed Later"):
        assert time.monotonic() < deadline, "the WAL was never checkpointed into the file"
        time.sleep(0.1)


def test_the_checkpointer_stops_with_the_store(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    thread = db.engine.crm_checkpointer._thread
    assert thread.is_alive()
    db.dispose()
    assert not thread.is_alive()
