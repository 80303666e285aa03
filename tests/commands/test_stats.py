"""Service analytics on a hand-built store whose answers are worked out by hand (SQLite and PostgreSQL).

The clock is Monday 23 Nov 2026 10:00 UTC; "the last 7 days" is 16 Nov 10:00 – 23 Nov 10:00.

Alice (owner of Globex and Li Na):
  T1 Globex  opened 20 Nov 09:00, answered +10 min, resolved +2 h, rated 5
  T2 Li Na   opened 21 Nov 12:00, answered +30 min, resolved +24 h, rated 3
  T3 Globex  opened 22 Nov 08:00, answered +60 min, open; Globex wrote again 23 Nov 07:00 (waiting 3 h)
  T0 Li Na   opened 10 Nov (before the period), resolved 17 Nov 12:00 (+7 d), rated 4
Bob (owner of Initech and 王伟):
  T4 Initech opened 22 Nov 10:00, nobody assigned, never answered (waiting 24 h)
  T5 王伟     opened 19 Nov 10:00, answered +4 h, resolved +8 h, rated 1
Nobody: T6 "Orphan Ltd" (no owner) opened 23 Nov 09:00, unanswered (waiting 1 h)
Outside: T7 (Globex, 1–2 Nov) and Carl's T8 (another manager's rep).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.customers import create_customer
from crm.models import AuditEvent, Interaction, Staff, Ticket
from crm.service_stats import rep_stats, team_stats
from tests.helpers import say, utc

NOW = utc(2026, 11, 23, 10, 0)
SINCE = NOW - timedelta(days=7)


def _ticket(s, customer_id, opened, *, answered=None, resolved=None, rating=None, assignee=None, messages=()):
    ticket = Ticket(customer_id=customer_id, opened_at=opened, assignee_id=assignee,
                    first_response_at=opened + answered if answered else None,
                    resolved_at=opened + resolved if resolved else None, rating=rating,
                    status="resolved" if resolved else "open", subject="help")
    s.add(ticket)
    s.flush()
    history = [("inbound", opened)] + ([("outbound", opened + answered)] if answered else []) + list(messages)
    for direction, at in history:
        s.add(Interaction(customer_id=customer_id, ticket_id=ticket.id, direction=direction, kind="message",
                          channel="telegram", occurred_at=at, text="…"))
    return ticket


@pytest.fixture
def store(db, team):
    with db.session() as s:
        other_manager = Staff(name="Olga Manager", role="manager", slack_user_id="UOLGA")
        s.add(other_manager)
        s.flush()
        carl = Staff(name="Carl Rep", role="rep", manager_id=other_manager.id, slack_user_id="UCARL")
        s.add(carl)
        s.flush()
        orphan = create_customer(s, "Orphan Ltd")
        carls = create_customer(s, "Carl's Customer", owner=carl)
        m, h, d = (lambda n: timedelta(minutes=n)), (lambda n: timedelta(hours=n)), (lambda n: timedelta(days=n))
        ids = {}
        ids["T1"] = _ticket(s, team.globex, utc(2026, 11, 20, 9), answered=m(10), resolved=h(2), rating=5,
                            assignee=team.alice).id
        ids["T2"] = _ticket(s, team.li, utc(2026, 11, 21, 12), answered=m(30), resolved=h(24), rating=3,
                            assignee=team.alice).id
        ids["T0"] = _ticket(s, team.li, utc(2026, 11, 10, 12), answered=h(1), resolved=d(7), rating=4,
                            assignee=team.alice).id
        ids["T3"] = _ticket(s, team.globex, utc(2026, 11, 22, 8), answered=m(60), assignee=team.alice,
                            messages=[("inbound", utc(2026, 11, 23, 7))]).id
        ids["T4"] = _ticket(s, team.initech, utc(2026, 11, 22, 10)).id
        ids["T5"] = _ticket(s, team.wang, utc(2026, 11, 19, 10), answered=h(4), resolved=h(8), rating=1,
                            assignee=team.bob).id
        ids["T6"] = _ticket(s, orphan.id, utc(2026, 11, 23, 9)).id
        ids["T7"] = _ticket(s, team.globex, utc(2026, 11, 1, 9), answered=m(5), resolved=h(30), rating=5,
                            assignee=team.alice).id
        ids["T8"] = _ticket(s, carls.id, utc(2026, 11, 20, 9), answered=h(9), resolved=h(10), rating=2,
                            assignee=carl.id).id
        ids["carl"] = carl.id
    return ids


@pytest.mark.store
def test_rep_figures_are_exact(db, team, store):
    with db.session() as s:
        alice = rep_stats(s, team.alice, SINCE, NOW)
    f = alice.figures
    assert (f.conversations, f.answered, f.unanswered) == (3, 3, 0)  # T1, T2, T3 (T0 opened before)
    assert f.median_first_response == timedelta(minutes=30)  # 10, 30, 60
    assert f.p90_first_response == timedelta(minutes=60)
    assert f.resolved == 3  # T1, T2 and T0 (resolved in the period)
    assert f.median_resolution == timedelta(hours=24)  # 2 h, 24 h, 7 d
    assert (f.ratings, f.average_rating) == (3, 4.0)
    assert f.csat == pytest.approx(2 / 3)  # 5 and 4 are satisfied, 3 is not
    assert alice.open_now == 1
    [case] = alice.worst_open
    assert (case.ticket_id, case.waiting, case.answered_before) == (store["T3"], timedelta(hours=3), True)

    with db.session() as s:
        bob = rep_stats(s, team.bob, SINCE, NOW).figures
    # T4 has no assignee: it counts for the customer's owner, Bob, and is unanswered
    assert (bob.conversations, bob.answered, bob.unanswered) == (2, 1, 1)
    assert bob.median_first_response == timedelta(hours=4)
    assert (bob.resolved, bob.median_resolution, bob.csat, bob.average_rating) == (1, timedelta(hours=8), 0.0, 1.0)


@pytest.mark.store
def test_team_figures_are_medians_over_every_conversation(db, team, store):
    with db.session() as s:
        result = team_stats(s, {team.manager, team.alice, team.bob}, SINCE, NOW)
    f = result.figures
    assert (f.conversations, f.answered, f.unanswered) == (6, 4, 2)  # T1 T2 T3 T4 T5 T6
    assert f.median_first_response == timedelta(minutes=45)  # 10, 30, 60, 240 → (30 + 60) / 2
    assert f.p90_first_response == timedelta(hours=4)
    assert f.resolved == 4  # T1, T2, T0, T5
    assert f.median_resolution == timedelta(hours=16)  # 2, 8, 24, 168 h → (8 + 24) / 2
    assert (f.ratings, f.csat, f.average_rating) == (4, 0.5, 3.25)
    assert [c.ticket_id for c in result.worst_open] == [store["T4"], store["T3"], store["T6"]]
    assert [c.waiting for c in result.worst_open] == [timedelta(hours=24), timedelta(hours=3), timedelta(hours=1)]
    assert result.open_now == 3
    by_name = {r.name: r for r in result.reps}
    assert set(by_name) == {"Maria Manager", "Alice Rep", "Bob Rep", "Unassigned"}
    assert by_name["Alice Rep"].figures.median_first_response == timedelta(minutes=30)
    assert by_name["Unassigned"].figures.unanswered == 1
    assert by_name["Maria Manager"].figures.conversations == 0
    # Carl's conversation belongs to another team
    assert all(c.ticket_id != store["T8"] for c in result.worst_open)


def test_a_period_with_nothing_gives_empty_figures_not_errors(db, team, store):
    with db.session() as s:
        result = team_stats(s, {team.alice}, utc(2025, 1, 1), utc(2025, 2, 1), now=NOW, include_unowned=False)
    f = result.figures
    assert f.conversations == 0 and f.median_first_response is None and f.csat is None
    assert result.open_now == 1  # open cases are as of now, whatever the period


def test_stats_me_for_a_rep(engine, team, store):
    reply = say(engine, "UALICE", "/crm stats")
    assert not reply.error
    fields = dict(reply.fields)
    assert fields["Conversations opened"] == "3"
    assert fields["First response, median"] == "30 min · 90% within 1h 0m"
    assert fields["Resolution time, median"] == "1d 0h"
    assert fields["CSAT"] == "67% satisfied · average 4.0/5 · 3 ratings"
    assert "Globex Corporation" in reply.plain_text() and "waiting 3h 0m (wrote again)" in reply.plain_text()


def test_stats_team_for_a_manager_in_chinese(engine, team, store):
    assert not say(engine, "UADA", "/crm staff set @maria language=zh").error  # replies follow the setting
    reply = say(engine, "UMARIA", "/crm stats team 7天")
    assert not reply.error, reply.text
    assert reply.text.startswith("团队客户会话")
    fields = dict(reply.fields)
    assert fields["首次响应中位数"].startswith("45 分钟")
    assert fields["解决时长中位数"] == "16小时0分钟"
    text = reply.plain_text()
    assert "Initech" in text and "尚未回复" in text and "Carl" not in text


def test_stats_last_week_and_this_month(engine, team, store):
    # last week = Mon 16 – Sun 22 Nov in Maria's zone (London = UTC here): T0 resolved, T1 T2 T3 T4 T5 opened
    reply = say(engine, "UMARIA", "/crm stats team last week")
    assert dict(reply.fields)["Conversations opened"] == "5 (1 not answered yet)"
    month = say(engine, "UMARIA", "/crm stats team this month")
    assert dict(month.fields)["Conversations opened"].startswith("8")  # T7 and T0 opened in November too


def test_a_rep_cannot_see_team_stats(engine, team, store):
    reply = say(engine, "UALICE", "/crm stats team")
    assert reply.error and "manager" in reply.text


@pytest.mark.parametrize("line", ["/crm stats forever", "/crm stats me 9999d", "/crm stats team 0d",
                                  "/crm stats me last decade"])
def test_bad_periods_get_a_clear_answer(engine, team, store, line, db):
    with db.session() as s:
        before = len(s.exec(select(AuditEvent)).all())
    reply = say(engine, "UMARIA", line)
    assert reply.error and "7d, 30d" in reply.text and reply.usage
    with db.session() as s:
        assert len(s.exec(select(AuditEvent)).all()) == before


def test_stats_for_a_manager_with_no_conversations_yet(chat, team):
    reply = chat.push("/crm stats", as_="maria")
    assert not reply.error and reply.text.startswith("Team conversations, the last 7 days")
    assert "No conversations in this period" in reply.plain_text()
