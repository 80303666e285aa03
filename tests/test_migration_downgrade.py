"""A release can be rolled back: every migration's downgrade runs, `alembic downgrade base` leaves no table of
ours behind, and upgrading again gives exactly the schema a fresh store has (tables, columns, indexes)."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from crm.db import alembic_config


def _migrate(db, target: str, *, down: bool) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def _schema(db) -> dict:
    with db.engine.connect() as conn:
        found = inspect(conn)
        return {table: ({c["name"]: str(c["type"]) for c in found.get_columns(table)},
                        sorted(i["name"] for i in found.get_indexes(table)))
                for table in found.get_table_names() if table != "alembic_version"}


def _revision(db) -> list[str]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


@pytest.mark.store
def test_downgrade_to_base_then_upgrade_gives_the_fresh_schema(db):
    fresh, head = _schema(db), _revision(db)
    assert "customer" in fresh and "interaction" in fresh
    _migrate(db, "base", down=True)
    assert _schema(db) == {}
    assert _revision(db) == []
    db.upgrade()
    assert _revision(db) == head
    assert _schema(db) == fresh

