"""Claims: how anything that must happen once happens once, across retries, restarts and instances.

Every "send once" in the product is one of two shapes, built here and nowhere else:

* **A claim row** (``claim_once``): inserting a row whose unique key *is* the claim. The first
  insert wins on SQLite and PostgreSQL alike; every later one meets the constraint and gets
  False. Used for platform event ids (``processed_event``), a night's insight-job lock, the
  first claim of a day's digest (``digest_run``) and a named worker lease's first holder.
* **A lease** (``Lease``): rows held by one claimant until their lease runs out. Taking one is
  a single conditional UPDATE whose WHERE repeats the "free or lapsed" condition, so when two
  instances race PostgreSQL re-checks the row after the first commits and the second matches
  nothing (SQLite serialises writers). The claim's moment is written into the row (``stamp``)
  and names the claim: renewals and outcomes are written only while the row still holds it,
  so a takeover or a user's change (a snooze) wins over a late writer. Used by the slash-command
  journal, reminders, digest runs and the campaign sender's worker lease.

A failed attempt waits ``backoff(attempts, …)`` before the next: the one retry schedule.
Nothing here reads a clock: every function takes ``now`` from its caller (the engine's clock in
the app), so tests and instances agree on what time it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session


def backoff(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """``first``, twice that, four times … after the n-th failed attempt; never more than ``longest``."""
    return min(first * (2 ** max(0, attempts - 1)), longest)


def claim_once(session: Session, row) -> bool:
    """Inserts ``row``, whose unique key is the claim, inside the caller's transaction.

    True for the first claimant; False when the row exists already (the savepoint is rolled back,
    the caller's transaction goes on), so the claim and the caller's work commit together.
    """
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return True
    except IntegrityError:
        return False


@dataclass(frozen=True)
class Lease:
    """The lease columns of one table.

    ``stamp``: written with the claim's moment; it names the claim (``held``).
    ``duration``: how long a claim lasts unless renewed.
    ``expires``: a column holding the moment the claim lapses, for tables that store it; without
    one, a claim lapses ``duration`` after its stamp.
    ``holder``: a column naming the claimant (an instance), for tables that have one.
    """

    duration: timedelta
    stamp: Any = None
    expires: Any = None
    holder: Any = None

    @property
    def _table(self):
        return (self.stamp if self.stamp is not None else self.expires).class_

    def lapsed(self, now: datetime):
        """SQL condition: the claim ran out (its owner died or stopped renewing)."""
        if self.expires is not None:
            return self.expires <= now
        return self.stamp <= now - self.duration

    def lapses_at(self, stamp: datetime) -> datetime:
        """When a claim stamped ``stamp`` runs out (for rows already read)."""
        return stamp + self.duration

    def held(self, stamp: datetime, holder: str | None = None):
        """SQL condition: the row still holds the claim stamped ``stamp`` (by ``holder``)."""
        conditions = [self.stamp == stamp]
        if holder is not None and self.holder is not None:
            conditions.append(self.holder == holder)
        return and_(*conditions)

    def _claim_values(self, now: datetime, holder: str | None) -> dict:
        values = {}
        if self.stamp is not None:
            values[self.stamp.key] = now
        if self.expires is not None:
            values[self.expires.key] = now + self.duration
        if holder is not None and self.holder is not None:
            values[self.holder.key] = holder[:100]
        return values

    def take(self, session: Session, where, *, now: datetime, holder: str | None = None,
             values: dict | None = None, returning: tuple = ()):
        """Claims every row matching ``where`` (which must say which rows are free) for ``holder`` at
        ``now``: one conditional UPDATE. Returns the ``returning`` columns of the rows taken, or how
        many were taken."""
        statement = (update(self._table).where(where)
                     .values(**self._claim_values(now, holder), **(values or {}))
                     .execution_options(synchronize_session=False))
        if returning:
            return session.execute(statement.returning(*returning)).all()
        return session.execute(statement).rowcount

    def renew(self, session: Session, where, *, now: datetime) -> int:
        """Pushes the lease of rows the caller still holds (``where`` says which) forward from ``now``."""
        return self.take(session, where, now=now)

    def settle(self, session: Session, where, *, values: dict) -> int:
        """Writes a claim's outcome into the rows matching ``where`` (include ``held``); how many."""
        return session.execute(update(self._table).where(where).values(**values)
                               .execution_options(synchronize_session=False)).rowcount
