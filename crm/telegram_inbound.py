"""The durable inbound queue of Telegram updates: stored before the 200, processed after (issue 17).

Why: an update used to be acknowledged only once it was fully handled (customer, ticket, message,
its reading, the relay row), one ORM unit of work per update: ~150 updates/s on SQLite. Now the
webhook appends the raw update here, in a group commit of many updates (one ``executemany`` on the
DBAPI cursor, crm/direct_sql.py), and answers 200 when that commit is durable. A processor
(integrations/telegram/inbound.py) drains the rows in arrival order, in batches, and marks them
processed in the same transaction as their work; on restart it resumes from what is unprocessed.

* **Exactly once**: ``update_id`` is unique, so a redelivered update is a no-op here; a row's
  work and its ``processed_at`` commit together (batches), or the update id is claimed with the work
  (``processed_event``, the updates handled one by one) so redoing a row after a crash does nothing.
* **Order**: rows of one chat are handled in arrival (``id``) order. An update handled on its own
  is *leased* (``lease_until``, ``claimed_by``) while in hand; later rows of a chat with a live
  lease wait for it.
* **Several instances (PostgreSQL)**: each processor *claims* the rows it reads (``claim``): it
  leases them to itself, whole chats at a time, so two instances never read, parse or store the
  same update and never hold rows of one chat at once. A claim and a batch's write take the chat's
  advisory lock (``CHAT_LOCKS``), so they never overlap for one chat; a dead instance's rows are
  claimed by another once their lease lapses. SQLite (one process) reads without claiming.
* **Privacy**: the raw body is cleared when the row is processed; processed rows are kept
  ``KEEP`` (Telegram redelivers for about a day) and then pruned.

Nothing here imports a chat SDK: rows are JSON text.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, update

from crm import direct_sql
from crm.models import TelegramInbound
from crm.types import utcnow

TABLE = TelegramInbound.__table__
# an update handled on its own; a dead instance's lease lapses after this (CRM_INBOUND_LEASE_SECONDS
# shortens it where a test kills an instance and waits for the takeover)
LEASE = timedelta(seconds=float(os.environ.get("CRM_INBOUND_LEASE_SECONDS") or 60))
RETRY_AFTER = timedelta(seconds=2)  # a failed update waits this long (times its attempts) before the next try
KEEP = timedelta(days=2)  # processed rows guard against redeliveries this long, then are pruned
# PostgreSQL: the first key of the per-chat advisory locks (two-int form: (CHAT_LOCKS, hashtext(chat id)))
CHAT_LOCKS = 0x7E1E6
MAX_BODY_CHARS = 1_000_000  # Telegram's updates are a few KB; anything near this is not from Telegram


@dataclass
class Pending:
    id: int
    update_id: int
    chat_id: int | None
    body: str
    attempts: int


def append(conn, updates: list[tuple[int, int | None, str]], *, now: datetime | None = None) -> int:
    """Stores ``(update_id, chat_id, raw JSON)`` rows in the caller's transaction; a known update id is
    skipped. Returns how many were new. Every webhook ack waits on this (issue 17): one ``executemany`` on
    the DBAPI cursor (crm/direct_sql.py). Through Core, SQLAlchemy's per-statement and per-row parameter
    work was ~35 µs of a ~75 µs commit of one update (bench/bench_telegram_ack.py)."""
    if not updates:
        return 0
    dialect = conn.dialect.name
    at = direct_sql.time_param(dialect)(now or utcnow())
    cur = direct_sql.cursor(conn)
    try:
        cur.executemany(direct_sql.insert_sql(dialect, TABLE, APPEND_COLUMNS, conflict=("update_id",)),
                        [(u, c, b, at, 0) for u, c, b in updates])
        return cur.rowcount
    finally:
        cur.close()


APPEND_COLUMNS = ("update_id", "chat_id", "body", "received_at", "attempts")


_PROCESSED_COLUMNS = ("processed_at", "last_error")


def _free(now):
    """Rows nobody holds: never leased, or the lease lapsed (``now``: a time, or a bind parameter for it)."""
    return or_(TABLE.c.lease_until.is_(None), TABLE.c.lease_until <= now)


def _oldest_unheld(now, limit):
    """The oldest unprocessed rows nobody holds, in arrival order, as ``_pending`` takes them (``pending`` and
    ``claim``: one rule)."""
    return select(TABLE.c.id, TABLE.c.update_id, TABLE.c.chat_id, TABLE.c.body, TABLE.c.attempts) \
        .where(TABLE.c.processed_at.is_(None), _free(now)).order_by(TABLE.c.id).limit(limit)


def _held_chats(now):
    """The chats with a row held (leased) right now: their later rows wait for it."""
    return select(TABLE.c.chat_id).where(TABLE.c.processed_at.is_(None), TABLE.c.lease_until > now,
                                         TABLE.c.chat_id.is_not(None))


def _pending(row_id: int, update_id: int, chat_id: int | None, body: str | None, attempts: int) -> Pending:
    """A row of ``_oldest_unheld`` (its columns, in order)."""
    return Pending(row_id, update_id, chat_id, body or "", attempts)


@lru_cache(maxsize=None)
def _pending_sql(dialect: str):
    """``_oldest_unheld`` and ``_held_chats`` compiled once for the DBAPI cursor (crm/direct_sql.py)."""
    now = bindparam("now", type_=TABLE.c.lease_until.type)
    return (direct_sql.positional(dialect, _oldest_unheld(now, bindparam("limit"))),
            direct_sql.positional(dialect, _held_chats(now).distinct()))


def pending(conn, *, limit: int, now: datetime) -> tuple[list[Pending], set[int]]:
    """The oldest unprocessed rows nobody holds, in arrival order, and the chats whose rows are held
    (leased) right now: their later rows must wait for the held one. Each round of the processor reads
    them: ``_oldest_unheld`` and ``_held_chats`` (``claim``'s too) sent on the DBAPI cursor (crm/direct_sql.py:
    through Core, the statement's execution and each row's processing were a round's largest fixed cost)."""
    dialect = conn.dialect.name
    values = {"now": direct_sql.time_param(dialect)(now), "limit": limit}
    (rows_sql, rows_params), (held_sql, held_params) = _pending_sql(dialect)
    cur = direct_sql.cursor(conn)
    try:
        cur.execute(rows_sql, direct_sql.params(rows_params, values))
        rows = [_pending(*r) for r in cur.fetchall()]
        cur.execute(held_sql, direct_sql.params(held_params, values))
        held = {c for (c,) in cur.fetchall()}
    finally:
        cur.close()
    return rows, held


def claim(conn, *, limit: int, now: datetime, holder: str) -> tuple[list[Pending], bool]:
    """PostgreSQL, several instances: leases to ``holder`` the oldest unprocessed rows of chats nobody holds
    a row of (``holder`` included: a chat whose update is being handled one by one, or waits for its
    retry, waits whole), in arrival order: (those rows, whether ``limit`` rows were read, i.e. more may
    be waiting). Commit right after: the lease is the claim.

    Why: every instance's processor used to read and parse the same oldest rows, and the one that wrote
    second dropped what the first had stored, all behind one store-wide lock (bench/load_scaling.py).
    A chat's rows are claimed under its advisory lock, taken with ``pg_try_advisory_xact_lock`` (never
    waited for: a chat another instance is claiming or writing right now is simply left to it), and
    the ``UPDATE`` re-reads which chats are held after the lock is taken, so two instances never hold
    rows of one chat at once: each chat's order holds across instances.

    A chat's later rows are not claimed while one of its updates is handled one by one (a new chat's
    first message makes its lead and ticket on that path): claimed then, they would have to queue
    behind it one by one too, through the ORM path; claimed after it, they are plain messages of an
    open ticket and go in a batch (a burst of new chats was processed ~10x slower the first way)."""
    holder = holder[:100]
    held = _held_chats(now)
    barred = set(conn.execute(held.distinct()).scalars())
    query = _oldest_unheld(now, limit)
    if barred:
        query = query.where(or_(TABLE.c.chat_id.is_(None), TABLE.c.chat_id.not_in(sorted(barred))))
    rows = conn.execute(query).all()
    chats = sorted({r.chat_id for r in rows if r.chat_id is not None})
    locked = set(conn.execute(text(
        "SELECT c FROM unnest(CAST(:chats AS bigint[])) AS c WHERE pg_try_advisory_xact_lock(:ns, hashtext(c::text))"),
        {"chats": chats, "ns": CHAT_LOCKS}).scalars()) if chats else set()
    ids = [r.id for r in rows if r.chat_id is None or r.chat_id in locked]
    full = len(rows) == limit
    if not ids:
        return [], full
    # a new statement, so a new snapshot: it sees a claim another instance committed before we got the lock
    taken = set(conn.execute(update(TABLE).where(
        TABLE.c.id.in_(ids), TABLE.c.processed_at.is_(None), _free(now),
        or_(TABLE.c.chat_id.is_(None), TABLE.c.chat_id.not_in(held)))
        .values(lease_until=now + LEASE, claimed_by=holder).returning(TABLE.c.id)).scalars())
    return [_pending(*r) for r in rows if r.id in taken], full


def lock_chats(conn, chats) -> None:
    """PostgreSQL: waits for the advisory locks of ``chats`` (in one order: two writers never deadlock),
    so no claim of theirs overlaps the caller's transaction."""
    chats = sorted({c for c in chats if c is not None})
    if chats:
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, k) FROM (SELECT DISTINCT hashtext(c::text) AS k "
                          "FROM unnest(CAST(:chats AS bigint[])) AS c ORDER BY k) AS keys"),
                     {"chats": chats, "ns": CHAT_LOCKS})


def held_by(conn, ids: list[int], *, holder: str) -> set[int]:
    """Of ``ids``, the unprocessed rows ``holder`` still holds (locked until the transaction ends): what it
    may store. A row whose lease lapsed while it worked may have been claimed by another instance."""
    if not ids:
        return set()
    return set(conn.execute(select(TABLE.c.id).where(TABLE.c.id.in_(ids), TABLE.c.processed_at.is_(None),
                                                     TABLE.c.claimed_by == holder[:100])
                            .with_for_update()).scalars())


def release(conn, ids: list[int], *, holder: str) -> int:
    """Gives back rows ``holder`` claimed and did not finish (a failed round, a clean stop, a chat's later
    rows): the next claim, here or in another instance, takes them at once instead of after the lease.
    ``claimed_by`` is cleared too, so that a write of ``holder``'s still under way (a stopped round's, on
    its thread) finds them no longer its own (``held_by``) and leaves them to whoever claims them next."""
    if not ids:
        return 0
    return conn.execute(update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.processed_at.is_(None),
                                            TABLE.c.claimed_by == holder[:100])
                        .values(lease_until=None, claimed_by=None)).rowcount


def mark_processed(conn, ids: list[int], *, now: datetime, error: str | None = None) -> None:
    """Done (or given up on, with ``error``): the body is cleared, the row stays as the redelivery guard.
    Every round marks its rows: an ``executemany`` on the DBAPI cursor (crm/direct_sql.py)."""
    if ids:
        at = direct_sql.time_param(conn.dialect.name)(now)
        direct_sql.execute_many(conn, direct_sql.update_sql(conn.dialect.name, TABLE, _PROCESSED_COLUMNS,
                                                            literal="body = NULL, lease_until = NULL"),
                                [(at, error, i) for i in ids])


def lease(conn, ids: list[int], *, holder: str, now: datetime) -> None:
    if ids:
        until = direct_sql.time_param(conn.dialect.name)(now + LEASE)
        direct_sql.execute_many(conn, direct_sql.update_sql(conn.dialect.name, TABLE, ("lease_until", "claimed_by")),
                                [(until, holder[:100], i) for i in ids])


def failed(conn, row_id: int, *, holder: str, now: datetime, attempts: int, error: str) -> None:
    """An attempt at a held row failed (``attempts`` so far, this one included): it is tried again after
    a pause that grows with them; later rows of its chat wait meanwhile."""
    conn.execute(update(TABLE).where(TABLE.c.id == row_id, TABLE.c.claimed_by == holder[:100])
                 .values(attempts=attempts, last_error=error[:300], lease_until=now + RETRY_AFTER * attempts))


def release_all(conn) -> int:
    """Lapses every lease: for a store only one process uses (SQLite), whose previous process died."""
    return conn.execute(update(TABLE).where(TABLE.c.processed_at.is_(None), TABLE.c.lease_until.is_not(None))
                        .values(lease_until=None)).rowcount


def prune(conn, *, now: datetime) -> int:
    return conn.execute(delete(TABLE).where(and_(TABLE.c.processed_at.is_not(None),
                                                 TABLE.c.processed_at < now - KEEP))).rowcount


def backlog(conn) -> tuple[int, datetime | None]:
    """(unprocessed rows, when the oldest arrived), for /metrics."""
    count, oldest = conn.execute(select(func.count(), func.min(TABLE.c.received_at))
                                 .where(TABLE.c.processed_at.is_(None))).one()
    return count or 0, oldest
