"""Encryption at rest (CRM_DB_KEY, SQLCipher): encrypt, rekey, wrong and missing keys, and the store
working on an encrypted file (search indexes included).

The whole suite's SQLite tests can also run on an encrypted store: ``CRM_TEST_SQLCIPHER=1 make test``
(tests/fixtures/store.py then hands every SQLite test a ``sqlite+pysqlcipher`` URL).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.settings import get_settings
from crm.db import Database
from crm.encryption import StoreKeyError, cipher_url, is_encrypted_file
from crm.models import Customer, Interaction, Staff
from crm.search import search_customers
from tests.helpers import make_team, say

KEY = "correct horse battery staple 'quoted\" and %percent@"
NEW_KEY = "a brand new key ü 密钥"
CRM_BOT = Path(sys.executable).with_name("crm-bot")


@pytest.fixture
def plain_store(tmp_path) -> Path:
    path = tmp_path / "crm.db"
    db = Database(f"sqlite:///{path}")  # plain even when the suite runs on encrypted stores
    db.upgrade()
    make_team(db)
    from bot.engine import Engine
    from bot.settings import Settings

    engine = Engine(db, Settings(_env_file=None, database_url=f"sqlite:///{path}"))
    say(engine, "UBOB", "log 王伟 call SECRETCALLNOTE about the renewal")
    db.dispose()
    return path


def _crm_bot(path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(path.parent), "DATABASE_URL": f"sqlite:///{path}", **env}
    return subprocess.run([str(CRM_BOT), *args], capture_output=True, text=True, env=environ, cwd=path.parent,
                          timeout=120, stdin=subprocess.DEVNULL)


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        return (s.exec(select(func.count()).select_from(Customer)).one(),
                s.exec(select(func.count()).select_from(Interaction)).one(),
                s.exec(select(func.count()).select_from(Staff)).one())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_encrypt_keeps_every_row_and_leaves_no_plaintext(plain_store):
    plain = Database(f"sqlite:///{plain_store}")
    before = _counts(plain)
    plain.dispose()
    done = _crm_bot(plain_store, "db", "encrypt", CRM_DB_KEY=KEY)
    assert done.returncode == 0, done.stderr
    assert "all kept" in done.stdout
    assert is_encrypted_file(plain_store)
    raw = plain_store.read_bytes()
    for secret in ("王伟", "SECRETCALLNOTE", "Globex", "ops@globex.example"):
        assert secret.encode() not in raw
    assert not list(plain_store.parent.glob("crm.db.old")) and not list(plain_store.parent.glob("*.encrypting"))
    db = Database(f"sqlite:///{plain_store}", key=KEY)
    try:
        assert _counts(db) == before
        with db.session() as s:  # both full-text indexes came along, encrypted
            assert [c.name for c, _ in search_customers(s, "王伟")] == ["王伟"]
            assert search_customers(s, "glob")[0][0].name == "Globex Corporation"
        db.upgrade()  # migrations run on the encrypted store
    finally:
        db.dispose()
    again = _crm_bot(plain_store, "db", "encrypt", CRM_DB_KEY=KEY)
    assert again.returncode == 2 and "already encrypted" in again.stderr


def test_rekey_moves_to_the_new_key_without_losing_a_row(plain_store):
    assert _crm_bot(plain_store, "db", "encrypt", CRM_DB_KEY=KEY).returncode == 0
    db = Database(f"sqlite:///{plain_store}", key=KEY)
    before = _counts(db)
    db.dispose()
    missing = _crm_bot(plain_store, "db", "rekey", CRM_DB_KEY=KEY)
    assert missing.returncode == 2 and "CRM_DB_NEW_KEY" in missing.stderr and "Traceback" not in missing.stderr
    done = _crm_bot(plain_store, "db", "rekey", CRM_DB_KEY=KEY, CRM_DB_NEW_KEY=NEW_KEY)
    assert done.returncode == 0, done.stderr
    stale = Database(f"sqlite:///{plain_store}", key=KEY)
    with pytest.raises(StoreKeyError, match="key is wrong"):
        _counts(stale)
    stale.dispose()
    db = Database(f"sqlite:///{plain_store}", key=NEW_KEY)
    try:
        assert _counts(db) == before
    finally:
        db.dispose()


@pytest.mark.parametrize("args", [["db", "upgrade"], ["export", "customers"], ["db", "rekey"]])
def test_wrong_or_missing_key_is_one_line_and_changes_nothing(plain_store, args):
    assert _crm_bot(plain_store, "db", "encrypt", CRM_DB_KEY=KEY).returncode == 0
    fingerprint = _digest(plain_store)
    for env, says in (({"CRM_DB_KEY": "wrong key"}, "key is wrong"), ({}, "set CRM_DB_KEY")):
        result = _crm_bot(plain_store, *args, **env, CRM_DB_NEW_KEY="whatever")
        assert result.returncode == 2, (args, env, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], result.stderr
        assert "Traceback" not in result.stderr + result.stdout and "ERROR CORE" not in result.stderr
        assert _digest(plain_store) == fingerprint
        assert not Path(f"{plain_store}-wal").exists() or Path(f"{plain_store}-wal").stat().st_size == 0


def test_a_key_on_a_plain_store_says_to_encrypt_it(plain_store):
    fingerprint = _digest(plain_store)
    result = _crm_bot(plain_store, "db", "upgrade", CRM_DB_KEY=KEY)
    assert result.returncode == 2 and "crm-bot db encrypt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _digest(plain_store) == fingerprint


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_store_smoke_on_an_encrypted_store(tmp_path, settings, clock):
    """Migrations, writes, search in both languages, erasure and the raw file, all on SQLCipher."""
    from bot.engine import Engine

    path = tmp_path / "enc.db"
    db = Database(f"sqlite:///{path}", key=KEY)
    try:
        db.upgrade()
        team = make_team(db)
        engine = Engine(db, settings.model_copy(update={"database_url": db.url}), clock=clock)
        assert not say(engine, "UBOB", "log 王伟 call PRICINGTALK renewal").error
        assert "王伟" in str(say(engine, "UBOB", "find 王伟"))
        assert "Globex Corporation" in str(say(engine, "UALICE", "find glob"))
        assert not say(engine, "UADA", f"forget #{team.wang} confirm").error
        with db.session() as s:
            assert s.get(Customer, team.wang).forgotten_at is not None
        other = Database(db.url)  # a second Database on the same URL (another process) opens it too
        assert _counts(other)[0] == 4
        other.dispose()
    finally:
        db.dispose()
    assert is_encrypted_file(path)
    for side in (path, Path(f"{path}-wal")):
        if side.exists():
            assert "王伟".encode() not in side.read_bytes() and b"PRICINGTALK" not in side.read_bytes()
    assert cipher_url(f"sqlite:///{path}", "k").startswith("sqlite+pysqlcipher://:k@/")
    get_settings.cache_clear()
