"""Daily digests through the real scheduler: content against known numbers, the chart, exactly once
per manager per day (two instances, restarts, crashes, failed sends), downtime catch-up."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.voice import Voice
from crm.db import Database
from crm.models import Customer, DigestRun, Staff
from handlers.digest.build import build_digest
from scheduler.digest_runs import claim_run
from tests.digest_support import EIGHT_LONDON, PNG_MAGIC, seed_known_day
from tests.helpers import say, utc
from tests.scheduler_support import Inbox, at, running

pytestmark = pytest.mark.timeout(180)



def _section(reply, starts: str):
    return next(sec for sec in reply.sections if sec.title.startswith(starts))


@pytest.mark.store
def test_team_digest_numbers_match_a_known_day(db, settings, team, tmp_path):
    seed_known_day(db, team)
    with db.session() as s:
        maria = s.get(Staff, team.manager)
        reply = build_digest(s, maria, "manager", Voice(maria, settings, EIGHT_LONDON))

    assert reply.text == "☀️ Team digest for Maria Manager · Mon 23 Nov"
    summary = dict(reply.fields)
    # Monday's digest covers everything since Friday's (issue 15): Saturday's email and Bob's meetings too
    assert summary["Interactions since Fri 20 Nov"] == "9"
    assert summary["Overdue follow-ups"] == "3"
    assert summary["Customers waiting on Telegram"] == "2"
    assert summary["Open pipeline"] == "3 deals · $47,000"

    activity = _section(reply, "Fri 20 Nov – Sun 22 Nov")
    lines = [i.text for i in activity.items]
    assert lines[0] == "Alice Rep: 5 — call 3, email 1, message 1 · via slack 4, telegram 1"
    assert lines[1] == "Bob Rep: 4 — email 2, meeting 2 · via console 2, slack 2"
    assert len(lines) == 2  # Maria logged nothing herself

    follow_ups = _section(reply, "Follow-ups: 3 overdue")
    assert follow_ups.text == "Alice Rep 2, Bob Rep 1"
    assert [i.text.split(" · ")[1].split()[0] for i in follow_ups.items] == ["#1", "#2", "#3"]
    assert "2 days overdue" in follow_ups.items[0].text
    assert "send the contract — Globex Corporation" in follow_ups.items[0].text
    assert follow_ups.items[0].buttons == []  # a manager does not tick off a rep's task from the digest

    tickets = _section(reply, "Telegram conversations waiting longest (2 open)")
    assert tickets.items[0].text == "💬 王伟 · waiting 2 days · Bob Rep · no reply yet"
    assert tickets.items[1].text == "💬 Globex Corporation · waiting 2h · Alice Rep"
    assert tickets.items[0].buttons[0].command == f"show #{team.wang}"

    deals = _section(reply, "Deals: 1 moved since Fri 20 Nov, 1 stalled")
    assert deals.items[0].text == "↗️ Globex Corporation · $12,000 → proposal · Alice Rep"
    assert deals.items[1].text == "⏸ Initech · $30,000 · 53 days in qualified · Bob Rep"
    assert [b.command for b in deals.items[1].buttons] == [f"show #{team.initech}"]

    picks = _section(reply, "Who to contact today")
    assert picks.items[0].text.startswith("🎯 Alice Rep: Globex Corporation — ")
    assert picks.items[1].text.startswith("🎯 Bob Rep: 王伟 — ")
    assert [b.command for b in picks.items[0].buttons] == [f"show #{team.globex}"]
    graph = _section(reply, "Relationships to look after")
    texts = [i.text for i in graph.items]
    assert "🔗 Well connected: Li Na · owner Alice Rep — links several groups of customers: a good person to ask " \
           "for introductions" in texts
    assert "🧵 Only one contact: 王伟 · owner Bob Rep — our only contact at this gold account" in texts
    assert not any("Globex" in t for t in texts if t.startswith("🧵"))  # Li Na is a second Globex contact
    assert any(t.startswith("📉 Going quiet: 王伟 · owner Bob Rep") for t in texts)

    chart = tmp_path / "charts" / f"digest-manager-{team.manager}-20261123.png"  # the day it is sent
    assert reply.image_path == str(chart)
    assert chart.read_bytes().startswith(PNG_MAGIC) and chart.stat().st_size > 10_000


def test_personal_digest_in_chinese_covers_only_the_rep(db, settings, team):
    seed_known_day(db, team)
    settings.business_days = "mon,tue,wed,thu,fri,sat,sun"  # a digest every day: Monday's covers Sunday only
    with db.session() as s:
        bob = s.get(Staff, team.bob)
        # 16:00 on Monday in Shanghai: Bob's yesterday is Sunday 22 Nov, 16:00 UTC Sat – 16:00 UTC Sun
        reply = build_digest(s, bob, "personal", Voice(bob, settings, utc(2026, 11, 23, 8)))
    assert reply.text.startswith("☀️ 你的每日摘要")
    activity = _section(reply, "昨日")
    assert [i.text for i in activity.items] == ["Bob Rep：1 次 — 邮件 1 · 渠道 console 1"]
    assert dict(reply.fields)["逾期跟进"] == "1"
    assert "Alice" not in reply.plain_text()


async def test_each_manager_gets_one_digest_at_digest_time_in_their_zone(db, settings, clock, team):
    seed_known_day(db, team)
    with db.session() as s:
        bob = s.get(Staff, team.bob)
        bob.digest_subscribed = True  # 08:00 in Shanghai is 00:00 UTC
        s.add(bob)
    clock.now = utc(2026, 11, 23, 7, 59)
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        assert inbox.digests("Maria Manager") == []
        assert len(inbox.digests("Bob Rep")) == 1  # already past 08:00 in Shanghai
        await at(app, clock, EIGHT_LONDON)
        [digest] = inbox.digests("Maria Manager")
        assert dict(digest.fields)["Interactions since Fri 20 Nov"] == "9"
        assert digest.image_path and open(digest.image_path, "rb").read(8) == PNG_MAGIC
        for minutes in (1, 30, 300):
            await at(app, clock, EIGHT_LONDON + timedelta(minutes=minutes))
        assert len(inbox.digests("Maria Manager")) == 1
        assert inbox.digests("Alice Rep") == []  # not subscribed

        assert not say(app.engine, "UALICE", "/crm digest subscribe").error
        await at(app, clock, utc(2026, 11, 23, 13, 0, 5))  # 08:00 in New York
        [personal] = inbox.digests("Alice Rep")
        assert personal.text.startswith("☀️ Your morning digest")

        await at(app, clock, EIGHT_LONDON + timedelta(days=1))
        assert len(inbox.digests("Maria Manager")) == 2
    with db.session() as s:
        runs = s.exec(select(DigestRun).where(DigestRun.staff_id == team.manager)).all()
    assert sorted((r.run_date.isoformat(), r.status, r.attempts) for r in runs) == [
        ("2026-11-23", "sent", 1), ("2026-11-24", "sent", 1)]


@pytest.mark.store
async def test_two_instances_on_one_database_send_one_digest_per_manager(db, settings, clock, team):
    with db.session() as s:
        s.add(Staff(name="Mona Manager", role="manager", slack_user_id="UMONA", timezone="Asia/Shanghai"))
    clock.now = utc(2026, 11, 23, 7, 59)
    first, second = Inbox(), Inbox()
    other = Database(db.url)
    try:
        async with running(settings, db, first, clock=clock, instance="a") as a, \
                running(settings, other, second, clock=clock, instance="b") as b:
            clock.now = EIGHT_LONDON
            for _ in range(5):  # let both run several passes over the same due digests
                await a.scheduler.next_pass()
                await b.scheduler.next_pass()
            clock.now = EIGHT_LONDON + timedelta(hours=1)
            await a.scheduler.next_pass()
            await b.scheduler.next_pass()
    finally:
        other.dispose()
    received = [who for who, r in first.received + second.received if r.text.startswith("☀️")]
    assert sorted(received) == ["Maria Manager", "Mona Manager"]
    with db.session() as s:
        runs = s.exec(select(DigestRun).where(DigestRun.kind == "manager")).all()
    assert len(runs) == 2 and {r.status for r in runs} == {"sent"}


@pytest.mark.store
def test_only_one_concurrent_claim_wins(db, team):
    """Eight claimers at once (threads, separate connections) on the same day: one row, one winner."""
    from concurrent.futures import ThreadPoolExecutor

    now = EIGHT_LONDON
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: claim_run(db, team.manager, now.date(), "manager", instance=f"i{i}",
                                                   now=now), range(8)))
    assert sum(c is not None for c in claims) == 1


@pytest.mark.crash
@pytest.mark.store
async def test_a_crashed_instance_claim_is_taken_over_after_the_lease(db, settings, clock, team):
    # an instance claimed Maria's digest at 08:00 and died before sending it
    assert claim_run(db, team.manager, EIGHT_LONDON.date(), "manager", instance="dead", now=EIGHT_LONDON)
    clock.now = EIGHT_LONDON + timedelta(minutes=5)
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock, instance="survivor") as app:
        assert inbox.digests() == []
        await at(app, clock, EIGHT_LONDON + timedelta(minutes=10, seconds=1))
        assert len(inbox.digests("Maria Manager")) == 1
    async with running(settings, db, inbox, clock=clock, instance="restarted") as app:  # restart: nothing new
        await at(app, clock, EIGHT_LONDON + timedelta(hours=2))
    assert len(inbox.digests("Maria Manager")) == 1
    with db.session() as s:
        [run] = s.exec(select(DigestRun)).all()
    assert (run.status, run.attempts, run.claimed_by) == ("sent", 2, "survivor")


async def test_a_failed_digest_send_is_retried_and_sent_once(db, settings, clock, team):
    clock.now = EIGHT_LONDON
    inbox = Inbox(fail_next=1, failing="Maria Manager")
    async with running(settings, db, inbox, clock=clock) as app:
        with db.session() as s:
            [run] = s.exec(select(DigestRun)).all()
        assert run.status == "failed" and "Slack is unreachable" in run.last_error
        await at(app, clock, EIGHT_LONDON + timedelta(seconds=30))  # before the 1-minute backoff
        assert inbox.digests() == []
        await at(app, clock, EIGHT_LONDON + timedelta(minutes=1, seconds=1))
        assert len(inbox.digests("Maria Manager")) == 1
        await at(app, clock, EIGHT_LONDON + timedelta(minutes=5))
        assert len(inbox.digests("Maria Manager")) == 1


@pytest.mark.parametrize("started, expected", [
    (utc(2026, 11, 23, 11, 30), 1),  # down at 08:00, back at 11:30 the same working day: sent at start
    (utc(2026, 11, 23, 18, 30), 0),  # back after business hours: the day's digest is stale, skipped
])
async def test_a_digest_missed_during_downtime_goes_out_at_start_the_same_working_day(
        db, settings, clock, team, started, expected):
    clock.now = started
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock):
        pass
    assert len(inbox.digests("Maria Manager")) == expected


@pytest.mark.parametrize("business_days, expected", [
    ("mon,tue,wed,thu,fri", 0),  # the default: Saturday is a day off, no digest
    ("mon,tue,wed,thu,fri,sat", 1),  # a team that works Saturdays gets it
])
async def test_digests_go_out_on_business_days_only(db, settings, clock, team, business_days, expected):
    settings.business_days = business_days
    saturday_eight = EIGHT_LONDON + timedelta(days=5)
    assert saturday_eight.weekday() == 5
    clock.now = saturday_eight - timedelta(minutes=1)
    inbox = Inbox()
    async with running(settings, db, inbox, clock=clock) as app:
        for minutes in (1, 60, 300):
            await at(app, clock, saturday_eight + timedelta(minutes=minutes))
        assert len(inbox.digests("Maria Manager")) == expected
        await at(app, clock, saturday_eight + timedelta(days=2))  # Monday 08:00
        assert len(inbox.digests("Maria Manager")) == expected + 1


# ---- /crm digest ------------------------------------------------------------------------


@pytest.mark.store
def test_the_digest_reads_the_insight_jobs_findings_for_its_own_team_only(db, settings, team):
    job = pytest.importorskip("crm.insights.job")
    from crm.seed import seed

    seed(db, 400, seed=11, now=utc(2026, 11, 22, 20))
    job.refresh_insights(db)
    with db.session() as s:
        for manager in s.exec(select(Staff).where(Staff.role == "manager")).all():
            team_names = {p.name for p in s.exec(select(Staff).where(
                (Staff.manager_id == manager.id) | (Staff.id == manager.id))).all()}
            owned = {c.name for c in s.exec(select(Customer).where(
                Customer.owner_id.in_(select(Staff.id).where(Staff.manager_id == manager.id)))).all()}
            reply = build_digest(s, manager, "manager", Voice(manager, settings, utc(2026, 11, 23, 9)), chart=False)
            picks = [sec for sec in reply.sections if sec.title == "Who to contact today"]
            assert picks, f"{manager.name}'s digest has no recommendations"
            for item in picks[0].items:
                rep, customer = item.text.removeprefix("🎯 ").split(": ", 1)
                assert rep in team_names and customer.split(" — ")[0] in owned
            if manager.id == team.manager:
                continue  # Maria's four hand-made customers are nobody's connectors
            [graph] = [sec for sec in reply.sections if sec.title == "Relationships to look after"]
            kinds = {item.text.split()[0] for item in graph.items}
            assert {"🔗", "📉"} <= kinds, [i.text for i in graph.items]
            for item in graph.items:  # every finding names someone of this team
                assert any(f"owner {name}" in item.text for name in team_names), item.text
                assert "PageRank" not in item.text and "participation" not in item.text and "))" not in item.text
