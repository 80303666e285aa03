"""Commands accepted from a platform but not yet answered, so an ack is a promise kept.

Slack never resends a slash command it got an ack for. The adapter therefore writes the
command here before acking (many acks share one INSERT: ``accept_many_in``) and marks it
answered once the answer is out; a recovery pass answers whatever a crashed instance left
behind (see ``AcceptedCommand``). The row is also the command's exactly-once claim
(``claim_work_in``), so a trigger id is written once.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import select

from crm.claims import Lease
from crm.db import Database, upsert_insert
from crm.models import AcceptedCommand, ProcessedEvent
from crm.types import utcnow

KEEP_ANSWERED = timedelta(days=1)  # long past any platform's retries
# the owner renews the lease of every command it still has in hand (``renew``) every third of
# it, so a long queue of commands under load is not mistaken for a dead instance's
# CRM_COMMAND_LEASE_SECONDS shortens it where a test kills an instance and waits for the takeover
LEASE = timedelta(seconds=float(os.environ.get("CRM_COMMAND_LEASE_SECONDS") or 45))
_LEASE = Lease(LEASE, stamp=AcceptedCommand.claimed_at, holder=AcceptedCommand.claimed_by)
GIVE_UP_AFTER = 5  # attempts; a command that fails this often is answered with an apology instead


@dataclass(frozen=True)
class Accepted:
    id: int
    delivery_id: str
    user_id: str
    user_name: str | None
    channel_id: str | None
    text: str
    reply_to: str | None
    attempts: int

    @classmethod
    def of(cls, row: AcceptedCommand) -> "Accepted":
        return cls(row.id, row.delivery_id, row.user_id, row.user_name, row.channel_id, row.text, row.reply_to,
                   row.attempts)


@dataclass(frozen=True)
class NewCommand:
    """A command as it arrives, to be journaled before its ack."""

    platform: str
    delivery_id: str
    user_id: str
    text: str
    instance: str
    user_name: str | None = None
    channel_id: str | None = None
    reply_to: str | None = None

    def row(self, now: datetime) -> dict:
        return {"platform": self.platform[:16], "delivery_id": self.delivery_id[:200], "user_id": self.user_id[:64],
                "user_name": (self.user_name or None) and self.user_name[:100],
                "channel_id": (self.channel_id or None) and self.channel_id[:64],
                "text": self.text.replace("\x00", ""), "reply_to": (self.reply_to or None) and self.reply_to[:500],
                "attempts": 1, "claimed_by": self.instance[:100], "claimed_at": now, "created_at": now}


def accept(db: Database, platform: str, delivery_id: str, *, user_id: str, text: str, instance: str,
           user_name: str | None = None, channel_id: str | None = None, reply_to: str | None = None) -> int | None:
    """Journals a command before it is acknowledged; None when this delivery is already journaled."""
    return accept_many(db, [NewCommand(platform, delivery_id, user_id, text, instance, user_name, channel_id,
                                       reply_to)])[0]


def accept_many(db: Database, commands: list[NewCommand]) -> list[int | None]:
    with db.write_session(urgent=True) as session:  # the acks wait for these rows
        return accept_many_in(session, commands)


def accept_many_in(session, commands: list[NewCommand], *, now: datetime | None = None) -> list[int | None]:
    """Journals many commands with one INSERT in the caller's transaction (a batch of acks). Returns
    each one's row id in order, None for a delivery journaled already (before, or earlier in the batch).

    ``ON CONFLICT DO NOTHING`` instead of a savepoint per row: a repeat is not an error to recover
    from, and on PostgreSQL a concurrent insert of the same delivery by another instance waits for
    that one's commit and then inserts nothing."""
    now = now or utcnow()
    first: dict[tuple[str, str], int] = {}  # (platform, delivery id) -> its first position in the batch
    rows = []
    for position, command in enumerate(commands):
        row = command.row(now)
        key = (row["platform"], row["delivery_id"])
        if key not in first:
            first[key] = position
            rows.append(row)
    ids: list[int | None] = [None] * len(commands)
    if not rows:
        return ids
    # one cached statement run with the rows as parameters (SQLAlchemy renders them as multi-row VALUES
    # batches, "insertmanyvalues"): a statement built with .values(rows) was compiled anew for every
    # batch, 0.75 ms a row at a batch of 50 against 0.1 ms (bench: the journal's share of an ack)
    for command_id, platform, delivery_id in session.connection().execute(_accept_statement(session), rows):
        ids[first[(platform, delivery_id)]] = command_id
    return ids


_ACCEPT_STATEMENTS: dict[str, object] = {}


def _accept_statement(session):
    dialect = session.get_bind().dialect.name
    statement = _ACCEPT_STATEMENTS.get(dialect)
    if statement is None:
        table = AcceptedCommand.__table__
        statement = _ACCEPT_STATEMENTS[dialect] = (
            upsert_insert(dialect, table).on_conflict_do_nothing(index_elements=["platform", "delivery_id"])
            .returning(table.c.id, table.c.platform, table.c.delivery_id))
    return statement


def claim_work_in(session, command_id: int, *, legacy_key: str | None = None, platform: str = "slack",
                  now: datetime | None = None) -> bool:
    """The command's exactly-once claim, in the transaction of its work: True the first time, False
    when its work has committed before (a rerun after a crash, or another instance's takeover).

    One conditional UPDATE of the journal row: on PostgreSQL a concurrent claimant waits for the
    first one's commit, then matches nothing; on SQLite writers are serialised. A claim rolled back
    with its work (an error reply, a failure) can be taken again.
    ``legacy_key``: the ``processed_event`` claim an older version wrote for this command (a rerun of
    a command journaled before an upgrade): if it is there, the work is done."""
    if legacy_key is not None and session.exec(select(ProcessedEvent.id).where(
            ProcessedEvent.platform == platform, ProcessedEvent.event_id == legacy_key[:200])).first() is not None:
        claimed = False
    else:
        claimed = True
    taken = session.execute(update(AcceptedCommand).where(AcceptedCommand.id == command_id,
                                                          AcceptedCommand.done_at.is_(None))
                            .values(done_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount
    return claimed and taken == 1


def answered(db: Database, command_id: int) -> None:
    """The answer is out. The text goes (it may hold personal data); the ids stay to spot retries."""
    with db.write_session() as session:
        answered_in(session, command_id)


def answered_in(session, command_id: int) -> None:
    """``answered`` inside the caller's transaction."""
    answered_many_in(session, [command_id])


def answered_many_in(session, command_ids: list[int], *, now: datetime | None = None) -> None:
    """``answered`` for many commands in one UPDATE (the answered marks of a batch)."""
    if command_ids:
        session.execute(update(AcceptedCommand).where(AcceptedCommand.id.in_(command_ids))
                        .values(answered_at=now or utcnow(), text="").execution_options(synchronize_session=False))


def renew(db: Database, command_ids: list[int], *, now: datetime | None = None) -> int:
    """This instance is still working on these: pushes their lease forward; returns how many."""
    renewed, now = 0, now or utcnow()
    for start in range(0, len(command_ids), 500):
        with db.write_session() as session:
            renewed += _LEASE.renew(session, AcceptedCommand.id.in_(command_ids[start:start + 500])
                                    & AcceptedCommand.answered_at.is_(None), now=now)
    return renewed


def purge_answered(db: Database) -> int:
    with db.write_session() as session:
        return session.exec(delete(AcceptedCommand).where(
            AcceptedCommand.answered_at.is_not(None), AcceptedCommand.created_at < utcnow() - KEEP_ANSWERED)).rowcount


def claim_abandoned(db: Database, platform: str, instance: str, limit: int = 500, *,
                    now: datetime | None = None) -> list[Accepted]:
    """Commands whose owner stopped answering (lease run out), now leased to ``instance``."""
    now = now or utcnow()
    abandoned = (AcceptedCommand.platform == platform) & AcceptedCommand.answered_at.is_(None) & _LEASE.lapsed(now)
    with db.write_session() as session:
        oldest = select(AcceptedCommand.id).where(abandoned).order_by(AcceptedCommand.id).limit(limit)
        # one conditional update takes them all: a row another instance took first no longer matches
        _LEASE.take(session, AcceptedCommand.id.in_(oldest.scalar_subquery()) & abandoned, now=now,
                    holder=instance, values={"attempts": AcceptedCommand.attempts + 1})
        taken = session.exec(select(AcceptedCommand).where(
            _LEASE.held(now, instance), AcceptedCommand.answered_at.is_(None)).order_by(AcceptedCommand.id)).all()
        return [Accepted.of(row) for row in taken]


def unanswered(db: Database, platform: str) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(AcceptedCommand).where(
            AcceptedCommand.platform == platform, AcceptedCommand.answered_at.is_(None))).one()
