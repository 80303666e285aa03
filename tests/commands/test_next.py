"""`/crm next`: who to contact today and why; accept, snooze and dismiss feed back into the ranking."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from crm.models import RecommendationFeedback, Task
from tests.insights_support import NOW


def _listed(reply) -> list[str]:
    return [item.text for item in reply.items]


def test_next_ranks_the_valuable_silent_account_first_and_says_why(chat, team, book):
    reply = chat.push("/crm next", as_="alice")
    listed = _listed(reply)
    assert listed[0].startswith("1. Globex Corporation")
    assert "no contact in 60 days" in listed[0] and "$120,000 deal in proposal stage" in listed[0]
    assert not any("Hooli Buyer" in t for t in listed)  # called yesterday
    assert [b.command for b in reply.items[0].buttons] == [f"next accept #{team.globex}",
                                                          f"next snooze #{team.globex}",
                                                          f"next dismiss #{team.globex}"]


def test_dismissed_stays_away_for_14_days_then_comes_back(chat, clock, db, team, book):
    assert _listed(chat.push("/crm next", as_="alice"))[0].startswith("1. Globex")
    reply = chat.push(f"/crm next dismiss #{team.globex}", as_="alice")
    assert "Dismissed Globex Corporation for 14 days" in reply.text
    assert not any("Globex" in t for t in _listed(chat.push("/crm next", as_="alice")))
    clock.now = NOW + timedelta(days=13)
    assert not any("Globex" in t for t in _listed(chat.push("/crm next", as_="alice")))
    clock.now = NOW + timedelta(days=14, hours=1)
    assert _listed(chat.push("/crm next", as_="alice"))[0].startswith("1. Globex")
    with db.session() as s:
        answer = s.exec(select(RecommendationFeedback)).one()
    assert answer.action == "dismissed" and "deal" in answer.reason_kinds and "silent" in answer.reason_kinds


def test_accept_creates_a_follow_up_for_today_and_hides_the_customer(chat, db, team, book):
    reply = chat.push(f"/crm next accept #{team.globex}", as_="alice")
    assert "Accepted" in reply.text
    with db.session() as s:
        task = s.exec(select(Task).where(Task.customer_id == team.globex)).one()
    assert task.owner_id == team.alice and task.title.startswith("Contact Globex Corporation: no contact in 60 days")
    # Alice is in New York: 10:00 UTC is 05:00 there, so due 17:00 her time
    assert task.due_at == NOW.replace(hour=22)
    assert not any("Globex" in t for t in _listed(chat.push("/crm next", as_="alice")))


def test_snooze_until_a_time_and_refuse_the_past(chat, clock, db, team, book):
    reply = chat.push(f"/crm next snooze #{team.globex} yesterday", as_="alice")
    assert reply.error and "already past" in reply.text
    with db.session() as s:
        assert s.exec(select(RecommendationFeedback)).all() == []
    assert "Snoozed" in chat.push(f"/crm next snooze #{team.globex}", as_="alice").text
    clock.now = NOW + timedelta(days=3, hours=1)
    assert _listed(chat.push("/crm next", as_="alice"))[0].startswith("1. Globex")


def test_answer_without_a_customer_is_explained(chat, team, book):
    reply = chat.push("/crm next dismiss", as_="alice")
    assert reply.error and "next dismiss #12" in reply.text


def test_manager_sees_the_team_list_and_a_rep_cannot(chat, team, book):
    reply = chat.push("/crm next team", as_="maria")
    assert any("Globex" in t and "Alice Rep" in t for t in _listed(reply))
    assert chat.push("/crm next team", as_="bob").error
    assert chat.push("/crm next @alice", as_="bob").error


def test_next_on_a_quiet_store_says_nobody_needs_a_call(chat, team):
    reply = chat.push("/crm next", as_="maria")
    assert not reply.error and reply.items == []
    assert "Nobody needs a call today" in reply.text
