"""The migration history stays one line: branches written side by side are joined before they land."""
from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from crm.db import MIGRATIONS_DIR


def test_migrations_have_a_single_head():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several heads {sorted(heads)}: add a migration whose down_revision joins them"
