"""Sending the day's digests: whoever has reached ``DIGEST_TIME`` in their own zone and has not
had today's digest yet gets it, once, whichever instance gets there first (see ``digest_runs``).

A digest missed while no instance was running goes out at the next pass if it is still the
recipient's working day; after that it is skipped, because yesterday's digest is stale.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, or_, select

from bot.replies import Reply
from bot.voice import Voice
from crm.models import Staff
from handlers.digest.build import build_digest, digest_kind
from scheduler.digest_runs import Claim, claim_run, due_day, existing_runs, finish_run, open_for_claim

log = logging.getLogger("crm.scheduler.digests")

SEND_TIMEOUT = 120  # seconds: a digest carries an image upload


@dataclass
class DigestPass:
    sent: int = 0
    failed: int = 0


def recipients(db) -> list[tuple[Staff, str]]:
    with db.session() as s:
        staff = s.exec(select(Staff).where(col(Staff.active).is_(True),
                                           or_(Staff.role == "manager", col(Staff.digest_subscribed).is_(True)))).all()
    return [(st, kind) for st in staff if (kind := digest_kind(st))]


def build_for(db, staff: Staff, kind: str, voice: Voice) -> Reply:
    with db.session() as s:
        return build_digest(s, staff, kind, voice)


async def send_digest(app, staff: Staff, kind: str, claim: Claim, now: datetime) -> bool:
    """Build, send and record one claimed digest; a failure is recorded for a later retry."""
    try:
        reply = await asyncio.to_thread(build_for, app.db, staff, kind, Voice(staff, app.settings, now))
        platform = await asyncio.wait_for(app.delivery.to_staff(staff, reply), SEND_TIMEOUT)
    except Exception as exc:
        log.warning("%s digest for %s (%s) failed, attempt %s: %s", kind, staff.name, claim.run_date,
                    claim.attempts, exc, exc_info=not isinstance(exc, (TimeoutError, ConnectionError)))
        await asyncio.to_thread(finish_run, app.db, claim, now=now, status="failed",
                                error=f"{type(exc).__name__}: {exc}")
        return False
    if not await asyncio.to_thread(finish_run, app.db, claim, now=now, status="sent"):
        log.warning("%s digest for %s was sent but its claim had been taken over", kind, staff.name)
    log.info("%s digest for %s (%s) sent via %s", kind, staff.name, claim.run_date, platform)
    return True


async def send_due_digests(app, now: datetime, instance: str) -> DigestPass:
    slot = app.settings.digest_time
    due = {}
    for staff, kind in await asyncio.to_thread(recipients, app.db):
        day = due_day(staff, app.settings, now, slot)
        if day is not None:
            due.setdefault(kind, {})[(staff.id, day)] = staff
    result = DigestPass()
    for kind, wanted in due.items():
        runs = await asyncio.to_thread(existing_runs, app.db, kind, set(wanted))
        for (staff_id, day), staff in wanted.items():
            if not open_for_claim(runs.get((staff_id, day)), now):
                continue
            claim = await asyncio.to_thread(claim_run, app.db, staff_id, day, kind, instance=instance, now=now)
            if claim is None:
                continue  # another instance has it
            if await send_digest(app, staff, kind, claim, now):
                result.sent += 1
            else:
                result.failed += 1
    return result
