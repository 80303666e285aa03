"""Follow-up reminders: each due task reaches its owner once, and a failed send is never dropped.

A task's reminder state lives in its own columns, so the store (not APScheduler) is the truth
and any number of instances can share it:

    waiting     reminded_at NULL, next_attempt_at NULL          (due_at decides)
    in flight   reminded_at = claim time, next_attempt_at = claim time + lease
    sent        reminded_at = claim time, next_attempt_at NULL
    failed      reminded_at NULL, next_attempt_at = when to retry, last_error, reminder_attempts

Claiming is one UPDATE … RETURNING whose WHERE repeats the due condition, so when two
instances race, PostgreSQL re-checks the row after the first commits and the second updates
nothing; SQLite serialises writers. An in-flight claim whose lease ran out belongs to an
instance that died between claim and send: the next pass claims it again. Outcomes are
written only if ``reminded_at`` still holds our claim time, so a snooze or a takeover wins.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import col, func, select

from bot.cards import customer_label
from bot.replies import Button, Item, Reply
from bot.voice import Voice
from crm import audit
from crm.claims import backoff
from crm.i18n import days_ago
from crm.models import Customer, Staff, Task
from crm.tasks import REMINDER
from scheduler.digest_runs import claim_run, due_day, existing_runs, finish_run, open_for_claim

log = logging.getLogger("crm.scheduler.reminders")

CLAIM_LEASE = REMINDER.duration
SEND_TIMEOUT = 60  # seconds; well inside the lease, so a hung send never overlaps a takeover
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
REPORT_AFTER = 5  # failed attempts before the owner's manager hears of it (retries go on hourly)
BATCH = 100
PARALLEL_SENDS = 8
LATE_AFTER = timedelta(minutes=10)  # a reminder this late says when it was due
OVERDUE_LIST = 10


_LEASE = REMINDER  # a reminder's claim (crm/tasks.py); see the module docstring for the states


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … after the n-th failed attempt, then hourly for as long as it takes."""
    return backoff(attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)


@dataclass(frozen=True)
class Claimed:
    task_id: int
    claimed_at: datetime
    attempts: int


@dataclass
class PassResult:
    sent: int = 0
    failed: int = 0


def _due(now: datetime):
    return and_(Task.status == "open", Task.due_at <= now,
                or_(_LEASE.lapsed(now),  # a retry that is due, or a dead instance's claim
                    and_(col(Task.reminded_at).is_(None), col(Task.next_attempt_at).is_(None))))


def claim_due_reminders(db, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Mark up to ``limit`` due reminders as ours (one transaction) and return them."""
    oldest_first = select(Task.id).where(_due(now)).order_by(Task.due_at).limit(limit)
    with db.write_session() as s:
        rows = _LEASE.take(s, col(Task.id).in_(oldest_first.scalar_subquery()) & _due(now), now=now,
                           values={"reminder_attempts": Task.reminder_attempts + 1},
                           returning=(Task.id, Task.reminder_attempts))
    return [Claimed(task_id, now, attempts) for task_id, attempts in rows]


def _record_sent(db, claim: Claimed) -> None:
    with db.write_session() as s:
        _LEASE.settle(s, (Task.id == claim.task_id) & _LEASE.held(claim.claimed_at),
                      values={"next_attempt_at": None, "last_error": None})


def _record_failure(db, claim: Claimed, now: datetime, error: str) -> bool:
    """Give the reminder back for a later retry; False when it was snoozed or taken over meanwhile."""
    with db.write_session() as s:
        return _LEASE.settle(s, (Task.id == claim.task_id) & _LEASE.held(claim.claimed_at),
                             values={"reminded_at": None, "next_attempt_at": now + retry_delay(claim.attempts),
                                     "last_error": error[:500]}) == 1


def reminder_buttons(task_id: int, voice: Voice) -> list[Button]:
    return [Button(voice.t("Done"), f"done #{task_id}", style="primary"),
            Button(voice.t("Snooze 1h"), f"snooze #{task_id} 1h"),
            Button(voice.t("Tomorrow 9am"), f"snooze #{task_id} tomorrow 9am"),
            Button(voice.t("Snooze…"), f"snooze #{task_id}", form="snooze")]


def reminder_reply(task: Task, customer: str | None, voice: Voice) -> Reply:
    fields = [(voice.t("Customer"), customer or "—"), (voice.t("Due"), voice.fmt(task.due_at))]
    if voice.now - task.due_at > LATE_AFTER:
        fields.append((voice.t("Note"), voice.t("this reminder is late: it was due {at}", at=voice.fmt(task.due_at))))
    return Reply(text=voice.t("⏰ Follow-up due: {title} (#{id})",
                              title=task.title, id=task.id),
                 fields=fields, buttons=reminder_buttons(task.id, voice))


def _load(db, claims: list[Claimed]) -> dict[int, tuple[Task, Staff, str | None]]:
    with db.session() as s:
        tasks = s.exec(select(Task).where(col(Task.id).in_([c.task_id for c in claims]))).all()
        owners = {st.id: st for st in s.exec(select(Staff).where(col(Staff.id).in_({t.owner_id for t in tasks})))}
        labels = {}
        for t in tasks:
            customer = s.get(Customer, t.customer_id) if t.customer_id else None
            # in the owner's language, like the rest of the reminder ("负责人 …", not "owner …")
            lang = owners[t.owner_id].language if owners[t.owner_id].language in ("en", "zh") else "en"
            labels[t.id] = customer_label(s, customer, lang) if customer else None
        return {t.id: (t, owners[t.owner_id], labels[t.id]) for t in tasks}


async def send_due_reminders(app, now: datetime) -> PassResult:
    """Claim what is due, send each to its owner, record each outcome."""
    claims = await asyncio.to_thread(claim_due_reminders, app.db, now)
    if not claims:
        return PassResult()
    loaded = await asyncio.to_thread(_load, app.db, claims)
    result = PassResult()
    gate = asyncio.Semaphore(PARALLEL_SENDS)

    async def deliver(claim: Claimed) -> None:
        task, owner, label = loaded[claim.task_id]
        async with gate:
            try:
                reply = reminder_reply(task, label, Voice(owner, app.settings, now))
                await asyncio.wait_for(app.delivery.to_staff(owner, reply), SEND_TIMEOUT)
            except Exception as exc:  # any failure of any platform: retry later, never drop
                result.failed += 1
                await _after_failure(app, claim, task, owner, now, f"{type(exc).__name__}: {exc}")
                return
        result.sent += 1
        await asyncio.to_thread(_record_sent, app.db, claim)

    await asyncio.gather(*(deliver(c) for c in claims if c.task_id in loaded))
    return result


async def _after_failure(app, claim: Claimed, task: Task, owner: Staff, now: datetime, error: str) -> None:
    kept = await asyncio.to_thread(_record_failure, app.db, claim, now, error)
    retry_at = now + retry_delay(claim.attempts)
    log.warning("reminder #%s for %s failed (attempt %s, retry at %s): %s", task.id, owner.name, claim.attempts,
                retry_at.isoformat(), error)
    if kept and claim.attempts == REPORT_AFTER:
        await _report_undeliverable(app, task, owner, claim.attempts, error)


async def _report_undeliverable(app, task: Task, owner: Staff, attempts: int, error: str) -> None:
    """Tell the audit trail, the log and the owner's manager; the retries continue regardless."""
    log.error("reminder #%s for %s still undelivered after %s attempts; retrying at least hourly: %s",
              task.id, owner.name, attempts, error)

    def write_audit() -> Staff | None:
        with app.db.write_session() as s:
            audit.record(s, "reminder.undeliverable", actor_label="scheduler", platform="scheduler",
                         customer_id=task.customer_id, task_id=task.id, owner=owner.name, attempts=attempts,
                         error=error[:300])
            return s.get(Staff, owner.manager_id) if owner.manager_id else None

    manager = await asyncio.to_thread(write_audit)
    if manager is None or not manager.active:
        return
    voice = Voice(manager, app.settings, app.engine.clock())
    notice = Reply(text=voice.t("⚠️ I could not deliver a follow-up reminder to {who} after {n} attempts; "
                                "I keep retrying, at least once an hour.",
                                who=owner.name, n=attempts),
                   fields=[(voice.t("Task"), f"#{task.id} {task.title}"),
                           (voice.t("Due"), voice.fmt(task.due_at)),
                           (voice.t("Error"), error[:200])],
                   buttons=[Button(voice.t("Their tasks"), f"tasks @{owner.slack_user_id or owner.email}")]
                   if (owner.slack_user_id or owner.email) else [])
    try:
        await asyncio.wait_for(app.delivery.to_staff(manager, notice), SEND_TIMEOUT)
    except Exception:
        log.exception("could not tell %s about the undelivered reminder #%s either", manager.name, task.id)


# --- the morning overdue notice: one message per owner per day, not one per task per minute ---

OVERDUE_KIND = "overdue"


def _owners_with_overdue(db, now: datetime) -> list[tuple[Staff, datetime]]:
    """Owners of open tasks due over a few hours ago, with their oldest due time."""
    with db.session() as s:
        rows = s.exec(select(Task.owner_id, func.min(Task.due_at))
                      .where(Task.status == "open", Task.due_at < now - timedelta(hours=1))
                      .group_by(Task.owner_id)).all()
        if not rows:
            return []
        oldest = dict(rows)
        staff = s.exec(select(Staff).where(col(Staff.id).in_(oldest), col(Staff.active).is_(True))).all()
        return [(st, oldest[st.id]) for st in staff]


def overdue_notice(session, owner: Staff, voice: Voice) -> tuple[Reply, list[int]] | None:
    """Tasks due before the owner's local today, as one message; None when there are none."""
    today_start, _ = voice.day_bounds(voice.today)
    base = select(Task).where(Task.owner_id == owner.id, Task.status == "open", Task.due_at < today_start)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    if not total:
        return None
    tasks = session.exec(base.order_by(Task.due_at).limit(OVERDUE_LIST)).all()
    names = dict(session.exec(select(Customer.id, Customer.name)
                              .where(col(Customer.id).in_({t.customer_id for t in tasks if t.customer_id}))).all())
    items = []
    for t in tasks:
        days = (voice.today - t.due_at.astimezone(voice.tz).date()).days
        who = f" — {names[t.customer_id]}" if t.customer_id in names else ""
        items.append(Item(voice.t("#{id} {title}{who} · due {at} ({d})",
                                  id=t.id, title=t.title, who=who, at=voice.fmt(t.due_at, with_time=False),
                                  d=days_ago(voice.lang, days)),
                          reminder_buttons(t.id, voice)[:3]))
    more = voice.t(" Showing the oldest {n}; `/crm tasks` lists them all.",
                   n=len(tasks)) if total > len(tasks) else ""
    reply = Reply(text=voice.t("🔔 Good morning! You have {n}.{more}",
                               n=voice.plural(total, "{n} overdue follow-up", "{n} overdue follow-ups"),
                               more=more), items=items)
    return reply, [t.id for t in tasks]


async def send_overdue_notices(app, now: datetime, instance: str) -> PassResult:
    slot = app.settings.business_hours.split("-")[0]
    owners = await asyncio.to_thread(_owners_with_overdue, app.db, now)
    candidates = {}
    for owner, oldest_due in owners:
        day = due_day(owner, app.settings, now, slot)
        if day is not None and oldest_due < Voice(owner, app.settings, now).day_bounds(day)[0]:
            candidates[(owner.id, day)] = owner
    runs = await asyncio.to_thread(existing_runs, app.db, OVERDUE_KIND, set(candidates))
    result = PassResult()
    for (owner_id, day), owner in candidates.items():
        if not open_for_claim(runs.get((owner_id, day)), now):
            continue
        claim = await asyncio.to_thread(claim_run, app.db, owner_id, day, OVERDUE_KIND, instance=instance, now=now)
        if claim is None:
            continue
        voice = Voice(owner, app.settings, now)

        def build():
            with app.db.session() as s:
                return overdue_notice(s, owner, voice)

        try:
            built = await asyncio.to_thread(build)
            if built is None:  # done or snoozed since we looked
                await asyncio.to_thread(finish_run, app.db, claim, now=now, status="skipped")
                continue
            reply, task_ids = built
            await asyncio.wait_for(app.delivery.to_staff(owner, reply), SEND_TIMEOUT)
        except Exception as exc:
            result.failed += 1
            log.warning("overdue notice for %s failed (attempt %s): %s", owner.name, claim.attempts, exc)
            await asyncio.to_thread(finish_run, app.db, claim, now=now, status="failed",
                                    error=f"{type(exc).__name__}: {exc}")
            continue
        result.sent += 1
        await asyncio.to_thread(_mark_noticed, app.db, claim, task_ids, day, now)
    return result


def _mark_noticed(db, claim, task_ids: list[int], day, now: datetime) -> None:
    finish_run(db, claim, now=now, status="sent")
    with db.write_session() as s:
        s.execute(update(Task).where(col(Task.id).in_(task_ids)).values(last_overdue_notice_on=day)
                  .execution_options(synchronize_session=False))
