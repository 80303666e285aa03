"""`/crm ticket assign|resolve|reopen #<ticket>`: what the buttons on a customer's Slack thread run
(the thread and Telegram side are in tests/test_telegram_inbox.py)."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm.models import AuditEvent, Customer, InboxOutbox, Ticket
from tests import factories


@pytest.fixture
def open_ticket(db, team) -> int:
    """Globex (Alice's) writes from Telegram chat 7001 and has one open ticket."""
    with db.session() as s:
        globex = s.get(Customer, team.globex)
        globex.telegram_chat_id = 7001
        return factories.ticket(s, globex).id


def ticket_row(db, ticket_id: int) -> Ticket:
    with db.session() as s:
        return s.get(Ticket, ticket_id)


def audited(db, action: str) -> list[dict]:
    with db.session() as s:
        return [json.loads(r.detail) for r in s.exec(select(AuditEvent).where(AuditEvent.action == action)).all()]


def test_assign_takes_the_ticket_once_and_is_audited(chat, db, team, open_ticket):
    reply = chat.push(f"ticket assign #{open_ticket}", as_="bob")
    assert not reply.error and reply.text == f"工单 #{open_ticket}（Globex Corporation (#{team.globex})）现在由你负责。"
    assert ticket_row(db, open_ticket).assignee_id == team.bob
    again = chat.push(f"ticket assign #{open_ticket}", as_="bob")
    assert not again.error and "已经由你负责" in again.text
    assert audited(db, "ticket.assign") == [{"ticket": open_ticket}] * 2


def test_resolve_closes_asks_the_customer_for_a_rating_and_says_so(chat, db, team, clock, open_ticket):
    reply = chat.push(f"ticket resolve #{open_ticket}", as_="alice")
    assert not reply.error
    assert reply.text == (f"Resolved ticket #{open_ticket} with Globex Corporation (#{team.globex}). "
                          "They were asked for a 1–5 rating.")
    row = ticket_row(db, open_ticket)
    assert (row.status, row.resolved_at, row.rating_requested_at, row.assignee_id) == \
        ("resolved", clock.now, clock.now, team.alice)
    with db.session() as s:
        queued = s.exec(select(InboxOutbox).where(InboxOutbox.ticket_id == open_ticket)).all()
    assert {(q.target, q.kind) for q in queued} >= {("telegram", "rating")}
    assert all(q.status == "pending" for q in queued)  # sent after the command's transaction commits
    repeat = chat.push(f"ticket resolve #{open_ticket}", as_="alice")
    assert not repeat.error and "already resolved" in repeat.text and f"ticket reopen #{open_ticket}" in repeat.text


def test_resolving_a_ticket_of_a_customer_without_telegram_asks_nobody(chat, db, team):
    with db.session() as s:
        ticket_id = factories.ticket(s, s.get(Customer, team.initech)).id
    reply = chat.push(f"ticket resolve #{ticket_id}", as_="bob")
    assert not reply.error and "评分" not in reply.text
    assert ticket_row(db, ticket_id).rating_requested_at is None


def test_reopen_after_resolve_and_not_twice(chat, db, team, open_ticket):
    chat.push(f"ticket resolve #{open_ticket}", as_="alice")
    reply = chat.push(f"ticket reopen #{open_ticket}", as_="alice")
    assert not reply.error and reply.text.startswith(f"Reopened ticket #{open_ticket}")
    row = ticket_row(db, open_ticket)
    assert (row.status, row.resolved_at, row.rating_requested_at) == ("open", None, None)
    assert "already open" in chat.push(f"ticket reopen #{open_ticket}", as_="alice").text


def test_reopen_refused_while_the_customer_has_a_newer_open_ticket(chat, db, team, open_ticket):
    chat.push(f"ticket resolve #{open_ticket}", as_="alice")
    with db.session() as s:
        newer = factories.ticket(s, s.get(Customer, team.globex)).id
    reply = chat.push(f"ticket reopen #{open_ticket}", as_="alice")
    assert reply.error and f"already has open ticket #{newer}" in reply.text
    assert ticket_row(db, open_ticket).status == "resolved"


@pytest.mark.parametrize("line, fragment", [
    ("ticket", "assign, resolve or reopen"),
    ("ticket close #1", "assign, resolve or reopen"),
    ("ticket resolve", "Which ticket?"),
    ("ticket resolve twelve", "Which ticket?"),
    ("ticket resolve #99999999999999999999", "Which ticket?"),
    ("ticket resolve #424242", "There is no ticket #424242"),
])
def test_bad_input_is_explained_with_usage_and_changes_nothing(chat, db, team, open_ticket, line, fragment):
    before = chat.fingerprint()
    reply = chat.push(line, as_="alice")
    assert reply.error and fragment in reply.text and reply.usage == "ticket assign|resolve|reopen #<ticket>"
    assert chat.fingerprint() == before
