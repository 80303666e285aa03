"""Once-a-day messages, exactly once: a ``digest_run`` row per recipient, local day and kind.

The row is inserted before anything is sent. Its unique constraint (staff, day, kind) lets
only one instance win, on SQLite and on PostgreSQL alike; the loser's insert fails and it
moves on. A run stays ``claimed`` while its owner builds and sends; a claim older than
``CLAIM_LEASE`` belongs to an instance that died mid-way and may be taken over. A failed
run is retried with backoff until the recipient's working day ends. Kinds: ``manager``
(team digest), ``personal`` (a rep's own digest), ``overdue`` (the morning overdue notice).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select

from bot.settings import Settings
from bot.voice import local_moment, staff_zone
from crm.claims import Lease, backoff, claim_once
from crm.db import Database
from crm.models import DigestRun, Staff

CLAIM_LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=30)
_LEASE = Lease(CLAIM_LEASE, stamp=DigestRun.claimed_at, holder=DigestRun.claimed_by)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the n-th failed attempt, at most half an hour."""
    return backoff(attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)


@dataclass(frozen=True)
class Claim:
    run_id: int
    staff_id: int
    run_date: date
    kind: str
    claimed_at: datetime
    attempts: int


def working_day_end(settings: Settings, day: date, zone, slot: str) -> datetime:
    """Until when a missed message of ``day`` is still worth sending: the end of business hours,
    or midnight when the message is scheduled after them."""
    close = local_moment(day, settings.business_hours.split("-")[1], zone)
    opening = local_moment(day, slot, zone)
    if close <= opening:
        return local_moment(day + timedelta(days=1), "00:00", zone)
    return close


def due_day(staff: Staff, settings: Settings, now: datetime, slot: str) -> date | None:
    """The staff member's local date when it is one of BUSINESS_DAYS and ``now`` is inside
    [slot, end of working day) there: no digest or overdue notice on a day off."""
    zone = staff_zone(staff, settings)
    today = now.astimezone(zone).date()
    if not settings.is_business_day(today):
        return None
    if local_moment(today, slot, zone) <= now < working_day_end(settings, today, zone, slot):
        return today
    return None


def open_for_claim(run: DigestRun | None, now: datetime) -> bool:
    """Whether a run row (or its absence) still lets someone send today's message."""
    if run is None:
        return True
    if run.status == "claimed":
        return _LEASE.lapses_at(run.claimed_at) <= now
    if run.status == "failed":
        return run.claimed_at + retry_delay(run.attempts) <= now
    return False  # sent or skipped


def existing_runs(db: Database, kind: str, keys: set[tuple[int, date]]) -> dict[tuple[int, date], DigestRun]:
    if not keys:
        return {}
    with db.session() as s:
        rows = s.exec(select(DigestRun).where(DigestRun.kind == kind,
                                              col(DigestRun.staff_id).in_({k[0] for k in keys}),
                                              col(DigestRun.run_date).in_({k[1] for k in keys}))).all()
    return {(r.staff_id, r.run_date): r for r in rows if (r.staff_id, r.run_date) in keys}


def claim_run(db: Database, staff_id: int, run_date: date, kind: str, *, instance: str,
              now: datetime) -> Claim | None:
    """Take the (staff, day, kind) run for this instance, or None when another has it or it is done."""
    with db.write_session() as s:
        run = DigestRun(staff_id=staff_id, run_date=run_date, kind=kind, status="claimed",
                        claimed_by=instance[:100], claimed_at=now, attempts=1)
        if claim_once(s, run):
            return Claim(run.id, staff_id, run_date, kind, now, 1)
        # the row exists: someone claimed this day before (maybe us, maybe a crashed instance)
        run = s.exec(select(DigestRun).where(DigestRun.staff_id == staff_id, DigestRun.run_date == run_date,
                                             DigestRun.kind == kind)).one()
        if not open_for_claim(run, now):
            return None
        # conditional on what we just read: of two instances taking over, one matches
        if _LEASE.take(s, (DigestRun.id == run.id) & (DigestRun.status == run.status) & _LEASE.held(run.claimed_at),
                       now=now, holder=instance, values={"status": "claimed", "attempts": DigestRun.attempts + 1}) != 1:
            return None
        return Claim(run.id, staff_id, run_date, kind, now, run.attempts + 1)


def finish_run(db: Database, claim: Claim, *, now: datetime, status: str, error: str | None = None) -> bool:
    """Record the outcome; False when the claim was lost meanwhile (another instance took over)."""
    values = {"status": status, "last_error": error[:500] if error else None}
    if status == "sent":
        values["sent_at"] = now
    with db.write_session() as s:
        return _LEASE.settle(s, (DigestRun.id == claim.run_id) & (DigestRun.status == "claimed")
                             & _LEASE.held(claim.claimed_at), values=values) == 1
