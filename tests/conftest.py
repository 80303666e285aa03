"""Shared fixtures. Every test that takes ``db`` runs on SQLite and on a real PostgreSQL."""
from __future__ import annotations

import itertools
import os
import shutil
from datetime import datetime, timezone

import psycopg
import pytest

from bot.engine import Engine
from bot.settings import Settings
from crm.db import Database
from tests.pg import PostgresServer, wait_connectable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# CRM_TEST_SQLCIPHER=1: every SQLite test runs on a store encrypted with SQLCipher (CRM_DB_KEY's path)
ENCRYPTED_SQLITE = os.environ.get("CRM_TEST_SQLCIPHER", "").lower() in ("1", "true", "yes")
TEST_DB_KEY = "test-key: ' \" % @ 密钥"


def sqlite_test_url(path) -> str:
    from crm.encryption import cipher_url

    url = f"sqlite:///{path}"
    return cipher_url(url, TEST_DB_KEY) if ENCRYPTED_SQLITE else url
_counter = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(sqlite_test_url(path))
    db.upgrade()
    db.dispose()
    return str(path)


@pytest.fixture(scope="session")
def pg_server():
    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        yield external
        return
    try:
        server = PostgresServer().start()
    except Exception as exc:  # no binaries, or no way to run them here
        if IN_CI:
            pytest.fail(f"CI must run the PostgreSQL tests, but no server could be started: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
        return
    url = server.url()
    wait_connectable(url)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE DATABASE crm_template")
    template = Database(server.url("crm_template"))
    template.upgrade()
    template.dispose()
    yield url
    server.stop()


def _pg_admin(server_url: str):
    return psycopg.connect(server_url.replace("+psycopg", ""), autocommit=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(sqlite_template, path)
        yield sqlite_test_url(path)
        return
    server_url = request.getfixturevalue("pg_server")
    name = f"t_{os.getpid()}_{next(_counter)}"
    with _pg_admin(server_url) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE crm_template")
    yield server_url.rsplit("/", 1)[0] + "/" + name
    with _pg_admin(server_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("CRM_EXPORT_DIR", str(tmp_path / "exports"))
    return Settings(_env_file=None, database_url=db_url, crm_timezone="UTC")


class Clock:
    """A settable clock for the engine (tests move time by hand)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))


@pytest.fixture
def engine(db, settings, clock) -> Engine:
    return Engine(db, settings, clock=clock)


@pytest.fixture
def team(db):
    from tests.helpers import make_team

    return make_team(db)


@pytest.fixture(autouse=True)
def _chart_dir(tmp_path, monkeypatch):
    """Digest and other charts land in the test's own folder, never in the working tree."""
    monkeypatch.setenv("CRM_CHART_DIR", str(tmp_path / "charts"))
