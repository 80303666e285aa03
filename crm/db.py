"""Engine, sessions and migrations.

One ``Database`` per process. Work is done in short sessions (``with db.session() as s``),
one per unit of work, committed on success and rolled back on any error.
"""
from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from crm import encryption

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
log = logging.getLogger("crm.db")


class WriterQueue:
    """SQLite's single writer as a first-come queue, where urgent writes go ahead.

    A plain lock is not fair: under a burst some writers waited seconds while others went
    round again. Urgent writes are the ones an acknowledgement waits for (a slash command's
    journal row, a Telegram update's transaction), so background work (running commands,
    relaying messages) cannot push an ack past Slack's 3 s. Background work is not starved
    either: after ``URGENT_RUN`` urgent turns in a row it gets one.
    The holder hands the lock straight to the next waiter, so nobody can cut in between.
    """

    URGENT_RUN = 8

    def __init__(self):
        self._mutex = threading.Lock()
        self._held = False
        self._urgent: deque[threading.Lock] = deque()
        self._normal: deque[threading.Lock] = deque()
        self._urgent_in_a_row = 0

    @contextmanager
    def hold(self, urgent: bool = False) -> Iterator[None]:
        with self._mutex:
            if self._held:
                turn = threading.Lock()
                turn.acquire()
                (self._urgent if urgent else self._normal).append(turn)
            else:
                self._held, turn = True, None
        if turn is not None:
            turn.acquire()  # released by the previous holder: the lock is ours
        try:
            yield
        finally:
            with self._mutex:
                waiting = self._next_in_line()
                if waiting:
                    waiting.popleft().release()
                else:
                    self._held = False

    def waiting(self) -> dict[str, int]:
        """How many writers wait for their turn, by lane (for /metrics)."""
        with self._mutex:
            return {"urgent": len(self._urgent), "normal": len(self._normal)}

    def _next_in_line(self) -> deque | None:
        if self._urgent and (not self._normal or self._urgent_in_a_row < self.URGENT_RUN):
            self._urgent_in_a_row += 1
            return self._urgent
        self._urgent_in_a_row = 0
        return self._normal or None


class WalCheckpointer:
    """SQLite's WAL checkpoints, off the path of the command that happened to trigger one.

    By default the commit that grows the WAL past 1,000 pages copies them into the database file and
    fsyncs it before returning. At 1,000,000 customers a `/crm log` dirties a dozen pages spread over
    the interaction, customer and audit indexes, so one command in ~80 waited 20-50 ms for that (p99
    of `log` 50 ms, 20 ms without). Connections here never checkpoint (``wal_autocheckpoint=0``); this
    daemon thread runs a PASSIVE checkpoint, which waits for no reader or writer, every ``INTERVAL``
    seconds. SQLite runs it without the GIL. It lives as long as the engine (a weak reference) or
    until ``Database.dispose``.
    """

    INTERVAL = 0.5

    def __init__(self, engine: Engine):
        self._engine = weakref.ref(engine)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            engine = self._engine()
            if engine is None:
                return
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # the store may be briefly unreadable (a rekey, a test's file removed)
                log.debug("background WAL checkpoint failed", exc_info=True)
            del engine

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


_checkpointer_lock = threading.Lock()


def upsert_insert(dialect: str, table):
    """``INSERT`` with ``ON CONFLICT`` (``on_conflict_do_nothing`` / ``_do_update``) for the store's dialect:
    PostgreSQL's and SQLite's take the same arguments, SQLAlchemy's generic insert has neither."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
        keyed = encryption.is_cipher_url(url)
        if keyed:
            # the dialect's default (one connection per thread) suits scripts, not our thread pools
            kwargs.setdefault("poolclass", QueuePool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        path = encryption.sqlite_path(url)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # the key (set by the dialect) is checked before anything else runs: a wrong or missing
            # CRM_DB_KEY is one clear error, and nothing is written to the store
            encryption.probe(dbapi_conn, path, keyed)
            cur = dbapi_conn.cursor()
            # WAL lets the HTTP server read while the scheduler writes; foreign keys are off by default
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            # deleted and overwritten bytes are zeroed, not left in free space: an erased customer's
            # name or messages must not be readable in the file (crm/erasure.py checkpoints the WAL)
            cur.execute("PRAGMA secure_delete=ON")
            if path is not None:
                # a background thread checkpoints (WalCheckpointer): never a command's own commit
                cur.execute("PRAGMA wal_autocheckpoint=0")
                with _checkpointer_lock:
                    if getattr(engine, "crm_checkpointer", None) is None:
                        engine.crm_checkpointer = WalCheckpointer(engine)
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    def __init__(self, url: str, *, echo: bool = False, key: str | None = None):
        """``key``: CRM_DB_KEY; a SQLite store is then opened with SQLCipher (crm/encryption.py).
        A ``sqlite+pysqlcipher://:key@/path`` URL carries its key itself."""
        if key and not encryption.is_cipher_url(url):
            url = encryption.cipher_url(url, key)
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self._writers = WriterQueue()

    def writers_waiting(self) -> dict[str, int]:
        return self._writers.waiting()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads: never committed, so on SQLite it neither waits for nor holds
        the writer. Anything written in it is an error (raised), not silently kept or lost."""
        session = self._sessions()
        try:
            yield session
            if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
                raise RuntimeError("a read session was written to; run that work in write_session()")
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def write_session(self, urgent: bool = False) -> Iterator[Session]:
        """A unit of work that must commit as a whole, savepoints included (claim + work).

        On SQLite, pysqlite opens a transaction only at the first INSERT/UPDATE, so a
        ``begin_nested()`` before that starts (and its RELEASE commits) a transaction of its
        own: ``claim_event_in`` would commit the claim early. ``BEGIN IMMEDIATE`` first makes
        the whole session one transaction and takes the write lock up front, so a
        read-then-write unit never fails on a stale WAL snapshot. PostgreSQL needs nothing.
        ``urgent``: a small write someone is waiting on right now (see ``WriterQueue``).
        """
        if self.dialect != "sqlite":
            with self.session() as session:
                yield session
            return
        # SQLite has one writer; threads of this process queue here instead of in SQLite's
        # busy handler, which sleeps in growing steps and made bursts 20x slower
        with self._writers.hold(urgent):
            with self.session() as session:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                yield session

    @contextmanager
    def write_connection(self, urgent: bool = False):
        """``write_session`` without the ORM: a Core connection in one transaction (committed on
        success), for bulk statements on a hot path (crm/telegram_inbound.py). Same writer queue
        and ``BEGIN IMMEDIATE`` on SQLite."""
        if self.dialect != "sqlite":
            with self.engine.begin() as conn:
                yield conn
            return
        with self._writers.hold(urgent):
            with self.engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()

    def upgrade(self) -> None:
        """Apply every migration (``crm-bot db upgrade``)."""
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        checkpointer = getattr(self.engine, "crm_checkpointer", None)
        if checkpointer is not None:
            checkpointer.stop()
            self.engine.crm_checkpointer = None
        self.engine.dispose()
