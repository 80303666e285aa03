"""Commands accepted from a platform but not yet answered, so an ack is a promise kept.

Slack never resends a slash command it got an ack for. The adapter therefore writes the
command here before acking and marks it answered once the answer is out; a recovery pass
answers whatever a crashed instance left behind (see ``AcceptedCommand``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from crm.claims import Lease
from crm.db import Database
from crm.models import AcceptedCommand
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


def accept(db: Database, platform: str, delivery_id: str, *, user_id: str, text: str, instance: str,
           user_name: str | None = None, channel_id: str | None = None, reply_to: str | None = None) -> int | None:
    """Journals a command before it is acknowledged; None when this delivery is already journaled."""
    with db.write_session(urgent=True) as session:  # the ack waits for this row
        return accept_in(session, platform, delivery_id, user_id=user_id, text=text, instance=instance,
                         user_name=user_name, channel_id=channel_id, reply_to=reply_to)


def accept_in(session, platform: str, delivery_id: str, *, user_id: str, text: str, instance: str,
              user_name: str | None = None, channel_id: str | None = None, reply_to: str | None = None) -> int | None:
    """``accept`` inside the caller's transaction (a group commit of many acks); the row commits with it."""
    try:
        with session.begin_nested():
            row = AcceptedCommand(platform=platform, delivery_id=delivery_id[:200], user_id=user_id[:64],
                                  user_name=(user_name or None) and user_name[:100],
                                  channel_id=(channel_id or None) and channel_id[:64],
                                  text=text.replace("\x00", ""), reply_to=(reply_to or None) and reply_to[:500],
                                  attempts=1, claimed_by=instance[:100])
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        return None


def answered(db: Database, command_id: int) -> None:
    """The answer is out. The text goes (it may hold personal data); the ids stay to spot retries."""
    with db.write_session() as session:
        answered_in(session, command_id)


def answered_in(session, command_id: int) -> None:
    """``answered`` inside the caller's transaction."""
    session.exec(update(AcceptedCommand).where(AcceptedCommand.id == command_id)
                 .values(answered_at=utcnow(), text=""))


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
