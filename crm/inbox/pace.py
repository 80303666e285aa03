"""Slack's per-channel pace in the store, so that every instance counts the same posts (issue 17).

integrations/relay_pacing.py spaces posts to a Slack channel with a generic cell rate (a steady
rate plus a small burst) and stops the channel for a 429's Retry-After. Kept in each process, N
instances relaying into one channel posted up to N times Slack's allowance there; kept here, one
``relay_pace`` row per channel, they share it. Each step is one upsert (``INSERT … ON CONFLICT DO
UPDATE … RETURNING``, the same statement on SQLite and PostgreSQL): the row lock orders concurrent
instances, and each reads back the value it wrote. Times are epoch seconds of each instance's wall
clock (instances' clocks agree to well under a second, as the store's leases already assume).
"""
from __future__ import annotations

from sqlalchemy import case

from crm.db import upsert_insert
from crm.models import RelayPace

TABLE = RelayPace.__table__


def _upsert(conn, channel: str, inserted: dict, changed: dict):
    return upsert_insert(conn.dialect.name, TABLE).values(channel=channel[:100], **inserted) \
        .on_conflict_do_update(index_elements=["channel"], set_=changed)


def _later(column, moment: float):
    """The later of the stored moment and ``moment`` (NULL counts as ``moment``), in portable SQL."""
    return case((column > moment, column), else_=moment)


def take_slot(conn, *, channel: str, now: float, interval: float) -> tuple[float, float | None]:
    """Counts one post about to be prepared for ``channel``. Returns (when it conforms before the burst
    allowance: the caller waits until that moment minus its tolerance, the moment the last counted
    departure conforms, or None)."""
    row = conn.execute(_upsert(conn, channel, {"slot_at": now + interval},
                               {"slot_at": _later(TABLE.c.slot_at, now) + interval})
                       .returning(TABLE.c.slot_at, TABLE.c.left_at)).one()
    return row.slot_at - interval, row.left_at


def take_departure(conn, *, channel: str, now: float, interval: float) -> float:
    """Counts one post leaving for ``channel`` now; returns when it conforms (as ``take_slot``)."""
    left = conn.execute(_upsert(conn, channel, {"slot_at": now, "left_at": now + interval},
                                {"left_at": _later(TABLE.c.left_at, now) + interval})
                        .returning(TABLE.c.left_at)).scalar_one()
    return left - interval


def hold(conn, *, channel: str, until: float) -> None:
    """Nothing more is prepared for ``channel`` before ``until`` (Slack answered 429 with Retry-After)."""
    conn.execute(_upsert(conn, channel, {"slot_at": until}, {"slot_at": _later(TABLE.c.slot_at, until)}))


def give_back(conn, *, channel: str, now: float, interval: float) -> None:
    """Uncounts one slot taken by ``take_slot`` and not used (never earlier than ``now``)."""
    conn.execute(TABLE.update().where(TABLE.c.channel == channel[:100])
                 .values(slot_at=_later(TABLE.c.slot_at - interval, now)))
