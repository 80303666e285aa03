"""Follow-up reminders through the real scheduler (APScheduler in the test's loop), moving time."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select

from crm.models import AuditEvent, Staff, Task
from scheduler.reminders import REPORT_AFTER, claim_due_reminders, retry_delay
from tests.helpers import say, utc
from tests.scheduler_support import Inbox, at, running

pytestmark = pytest.mark.timeout(120)


def _task(db, task_id) -> Task:
    with db.session() as s:
        return s.get(Task, task_id)


def _new_task(db, owner_id, due, title="call back", customer_id=None) -> int:
    with db.session() as s:
        task = Task(owner_id=owner_id, created_by_id=owner_id, title=title, due_at=due, customer_id=customer_id)
        s.add(task)
        s.flush()
        return task.id


def _task_id_from(reply) -> int:
    return int(reply.items[0].text.split("#")[1].split()[0])


async def test_reminders_reach_each_owner_at_three_pm_in_their_own_zone(db, settings, clock, team):
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        # 10:00 UTC: 05:00 for Alice in New York, 18:00 for Bob in Shanghai
        alice = say(app.engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
        bob = say(app.engine, "UBOB", "/crm remind initech 明天下午3点 回电话")
        assert not alice.error and not bob.error, (alice.text, bob.text)

        await at(app, clock, utc(2026, 11, 24, 6, 59))
        assert inbox.reminders() == []
        await at(app, clock, utc(2026, 11, 24, 7, 0, 15))  # 15:00:15 in Shanghai
        [for_bob] = inbox.reminders("Bob Rep")
        assert "回电话" in for_bob.text and for_bob.text.startswith("⏰ 跟进提醒")
        assert inbox.reminders("Alice Rep") == []

        await at(app, clock, utc(2026, 11, 24, 19, 59))
        assert inbox.reminders("Alice Rep") == []
        await at(app, clock, utc(2026, 11, 24, 20, 0, 20))  # 15:00:20 in New York
        [for_alice] = inbox.reminders("Alice Rep")
        assert "send the proposal" in for_alice.text
        assert ("Due", "Tue 24 Nov 15:00") in for_alice.fields
        assert any("Globex Corporation" in value for _, value in for_alice.fields)
        task_id = _task_id_from(alice)
        assert [b.command for b in for_alice.buttons] == [f"done #{task_id}", f"snooze #{task_id} 1h",
                                                          f"snooze #{task_id} tomorrow 9am", f"snooze #{task_id}"]
        assert for_alice.buttons[-1].form == "snooze"

        for hour in (21, 22, 23):  # later passes never repeat a sent reminder
            await at(app, clock, utc(2026, 11, 24, hour))
        assert len(inbox.reminders()) == 2
    stored = _task(db, task_id)
    assert stored.reminded_at == utc(2026, 11, 24, 20, 0, 20) and stored.next_attempt_at is None
    assert stored.reminder_attempts == 1


@pytest.mark.parametrize("zone, created, phrase, due_utc, one_hour_early", [
    # New York leaves daylight time at 02:00 on Sunday 1 Nov 2026: 15:00 is 20:00 UTC, not 19:00
    ("America/New_York", utc(2026, 10, 30, 14), "sunday 3pm", utc(2026, 11, 1, 20), utc(2026, 11, 1, 19)),
    # London enters summer time on Sunday 28 Mar 2027: 09:00 is 08:00 UTC, not 09:00
    ("Europe/London", utc(2027, 3, 26, 12), "sunday 9am", utc(2027, 3, 28, 8), None),
])
async def test_reminder_across_a_dst_change_fires_at_local_wall_time(db, settings, clock, team, zone, created,
                                                                     phrase, due_utc, one_hour_early):
    with db.session() as s:
        alice = s.get(Staff, team.alice)
        alice.timezone = zone
        s.add(alice)
    clock.now = created
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        reply = say(app.engine, "UALICE", f"/crm remind globex {phrase} renewal call")
        assert not reply.error, reply.text
        assert _task(db, _task_id_from(reply)).due_at == due_utc
        if one_hour_early:
            await at(app, clock, one_hour_early)
            assert inbox.reminders() == []
        await at(app, clock, due_utc - timedelta(seconds=30))
        assert inbox.reminders() == []
        await at(app, clock, due_utc + timedelta(seconds=10))
        [sent] = inbox.reminders("Alice Rep")
        local = due_utc.astimezone(ZoneInfo(zone))
        assert local.hour in (15, 9) and f"{local:%H:%M}" in dict(sent.fields)["Due"]


async def test_snoozed_reminder_comes_back_once_an_hour_later(db, settings, clock, team):
    task_id = _new_task(db, team.alice, utc(2026, 11, 23, 15), "send contract", team.globex)
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        await at(app, clock, utc(2026, 11, 23, 15, 0, 5))
        [first] = inbox.reminders("Alice Rep")
        snooze_1h = next(b for b in first.buttons if b.command.endswith(" 1h"))
        reply = say(app.engine, "UALICE", "/crm " + snooze_1h.command)  # pressing the button
        assert not reply.error and "Snoozed" in reply.text
        await at(app, clock, utc(2026, 11, 23, 15, 59))
        assert len(inbox.reminders()) == 1
        await at(app, clock, utc(2026, 11, 23, 16, 0, 10))
        assert len(inbox.reminders()) == 2
        await at(app, clock, utc(2026, 11, 23, 17))
        assert len(inbox.reminders()) == 2

        done = say(app.engine, "UALICE", "/crm " + first.buttons[0].command)
        assert not done.error and _task(db, task_id).status == "done"


async def test_done_before_due_means_no_reminder(db, settings, clock, team):
    task_id = _new_task(db, team.bob, utc(2026, 11, 23, 12))
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        assert not say(app.engine, "UBOB", f"/crm done #{task_id}").error
        await at(app, clock, utc(2026, 11, 23, 12, 5))
    assert inbox.reminders() == []


async def test_failed_send_is_retried_with_backoff_then_delivered_once(db, settings, clock, team):
    task_id = _new_task(db, team.alice, utc(2026, 11, 23, 15))
    inbox = Inbox(fail_next=2, failing="Alice Rep")
    async with running(settings, db, inbox, clock=clock) as app:
        await at(app, clock, utc(2026, 11, 23, 15))
        assert inbox.failures == 1 and inbox.reminders() == []
        failed = _task(db, task_id)
        assert failed.reminded_at is None and failed.reminder_attempts == 1
        assert failed.next_attempt_at == utc(2026, 11, 23, 15) + retry_delay(1)
        assert "ConnectionError" in failed.last_error

        await at(app, clock, utc(2026, 11, 23, 15, 0, 10))  # backoff not over: no attempt
        assert inbox.failures == 1
        await at(app, clock, utc(2026, 11, 23, 15, 0, 31))
        assert inbox.failures == 2
        await at(app, clock, utc(2026, 11, 23, 15, 1, 40))
        assert len(inbox.reminders("Alice Rep")) == 1
        await at(app, clock, utc(2026, 11, 23, 16))
        assert len(inbox.reminders("Alice Rep")) == 1
    delivered = _task(db, task_id)
    assert delivered.reminder_attempts == 3 and delivered.last_error is None and delivered.next_attempt_at is None


async def test_undeliverable_reminder_is_reported_to_the_manager_and_never_dropped(db, settings, clock, team):
    task_id = _new_task(db, team.alice, utc(2026, 11, 23, 15), "renewal call", team.globex)
    inbox = Inbox(fail_next=REPORT_AFTER + 1, failing="Alice Rep")
    async with running(settings, db, inbox, clock=clock) as app:
        moment = utc(2026, 11, 23, 15)
        for attempt in range(1, REPORT_AFTER + 2):
            await at(app, clock, moment)
            assert inbox.failures == attempt
            moment += retry_delay(attempt)
        [report] = [r for r in inbox.to("Maria Manager") if r.text.startswith("⚠️")]
        assert "Alice Rep" in report.text and "5 attempts" in report.text
        assert _task(db, task_id).next_attempt_at == moment  # still scheduled after the report
        assert retry_delay(20) == timedelta(hours=1)  # the cadence slows down but never stops
        await at(app, clock, moment)
        assert len(inbox.reminders("Alice Rep")) == 1
    with db.session() as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "reminder.undeliverable")).all()
        assert event.customer_id == team.globex and '"attempts": 5' in event.detail


@pytest.mark.crash
@pytest.mark.store
async def test_instance_dying_between_claim_and_send_is_covered_by_the_next_one(db, settings, clock, team):
    task_id = _new_task(db, team.alice, utc(2026, 11, 23, 9))
    # an instance claims the reminder and dies before sending (nothing else happens)
    [claimed] = claim_due_reminders(db, utc(2026, 11, 23, 10))
    assert claimed.task_id == task_id
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock, instance="survivor") as app:
        await at(app, clock, utc(2026, 11, 23, 10, 2))  # the dead instance's claim is still fresh
        assert inbox.reminders() == []
        await at(app, clock, utc(2026, 11, 23, 10, 5, 1))  # its lease ran out
        assert len(inbox.reminders("Alice Rep")) == 1
    # a restart: a new service over the same store sends nothing twice
    async with running(settings, db, inbox, clock=clock, instance="restarted") as app:
        await at(app, clock, utc(2026, 11, 23, 11))
    assert len(inbox.reminders("Alice Rep")) == 1
    assert _task(db, task_id).reminder_attempts == 2


async def test_reminders_missed_during_downtime_go_out_at_start(db, settings, team):
    """Real wall-clock time travel: the app's default clock and APScheduler both see it."""
    due = utc(2026, 11, 24, 20)  # 15:00 in New York
    task_id = _new_task(db, team.alice, due, "send the proposal", team.globex)
    inbox = Inbox()
    with time_machine.travel(utc(2026, 11, 24, 19, 58), tick=True) as traveller:
        async with running(settings, db, inbox) as app:
            await app.scheduler.next_pass()
            assert inbox.reminders() == []
        traveller.move_to(utc(2026, 11, 25, 2, 30))  # the bot was down at 15:00
        async with running(settings, db, inbox):  # the first pass runs at start
            pass
    [late] = inbox.reminders("Alice Rep")
    assert "late" in dict(late.fields)["Note"] and "15:00" in dict(late.fields)["Note"]
    assert _task(db, task_id).reminded_at >= utc(2026, 11, 25, 2, 30)


async def test_overdue_items_are_repeated_once_each_morning(db, settings, clock, team):
    # Bob (Shanghai) has two tasks from last week, reminded then and still open
    for title in ("call back", "send quote"):
        task_id = _new_task(db, team.bob, utc(2026, 11, 18, 2), title, team.initech)
        with db.session() as s:
            task = s.get(Task, task_id)
            task.reminded_at = utc(2026, 11, 18, 2)
            s.add(task)
    clock.now = utc(2026, 11, 23, 0, 30)  # 08:30 in Shanghai
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        assert inbox.overdue_notices() == []
        await at(app, clock, utc(2026, 11, 23, 1, 0, 5))  # 09:00 in Shanghai
        [notice] = inbox.overdue_notices("Bob Rep")
        assert "2 个逾期跟进" in notice.text and len(notice.items) == 2
        assert notice.items[0].buttons[0].command.startswith("done #")
        for minutes in (1, 30, 120, 600):
            await at(app, clock, utc(2026, 11, 23, 1) + timedelta(minutes=minutes))
        assert len(inbox.overdue_notices()) == 1
        assert inbox.reminders() == []  # already-reminded tasks are not re-sent one by one

        await at(app, clock, utc(2026, 11, 24, 1, 0, 5))  # the next morning
        assert len(inbox.overdue_notices("Bob Rep")) == 2
    with db.session() as s:
        days = {t.last_overdue_notice_on for t in s.exec(select(Task).where(Task.owner_id == team.bob))}
    assert days == {utc(2026, 11, 24).date()}


@pytest.mark.store
async def test_two_instances_send_each_reminder_exactly_once(db, settings, clock, team):
    from crm.db import Database

    ids = [_new_task(db, owner, utc(2026, 11, 23, 14, minute), f"task {minute}")
           for minute in range(0, 40, 2) for owner in (team.alice, team.bob)]
    first, second = Inbox(), Inbox()
    other_db = Database(db.url)  # a second process has its own connections
    try:
        async with running(settings, db, first, clock=clock, instance="a") as app_a, \
                running(settings, other_db, second, clock=clock, instance="b") as app_b:
            for minute in range(0, 45, 3):
                clock.now = utc(2026, 11, 23, 14, minute)
                await app_a.scheduler.next_pass()
                await app_b.scheduler.next_pass()
    finally:
        other_db.dispose()
    sent = [int(re.search(r"#(\d+)", r.text).group(1)) for r in first.reminders() + second.reminders()]
    assert sorted(sent) == sorted(ids)  # every task once, none twice
    with db.session() as s:
        assert all(t.reminder_attempts == 1 for t in s.exec(select(Task).where(Task.id.in_(ids))))


@pytest.mark.store
def test_concurrent_claimers_never_share_a_reminder(db, team):
    from concurrent.futures import ThreadPoolExecutor

    now = utc(2026, 11, 23, 12)
    ids = {_new_task(db, team.alice, now - timedelta(minutes=i), f"t{i}") for i in range(40)}
    with ThreadPoolExecutor(6) as pool:  # six instances' passes at the same moment
        batches = list(pool.map(lambda _: claim_due_reminders(db, now, limit=15), range(6)))
    claimed = [c.task_id for batch in batches for c in batch]
    assert len(claimed) == len(set(claimed))
    leftovers = [c.task_id for c in claim_due_reminders(db, now, limit=100)]
    assert sorted(claimed + leftovers) == sorted(ids)
