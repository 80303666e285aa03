"""The in-process test adapter (tests/fixtures/chat.py) and the test-data factories: the tools every
command test stands on must themselves fail when what they report is not so."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.models import Customer, Interaction, ProcessedEvent
from tests import factories


def test_push_runs_as_the_named_colleague_on_each_platform(chat, db, team):
    assert chat.user_id("alice", "slack") == "UALICE"
    assert chat.user_id("alice", "telegram") == "5001"
    assert chat.user_id("ada", "console") == "Ada Admin"
    for platform in ("slack", "telegram"):
        chat.push(f"log globex note from {platform}", as_="alice", platform=platform)
    chat.push("log globex note from the terminal", as_="maria", platform="console")
    with db.session() as s:
        rows = s.exec(select(Interaction).order_by(Interaction.id)).all()
    assert [(r.staff_id, r.channel) for r in rows] == [(team.alice, "slack"), (team.alice, "telegram"),
                                                      (team.manager, "console")]
    assert chat.pop() is chat.history[-1][1] and len(chat.history) == 3


def test_a_colleague_without_that_platform_is_a_test_error_not_a_stranger(chat):
    with pytest.raises(ValueError, match="no telegram identity"):
        chat.push("tasks", as_="bob", platform="telegram")
    with pytest.raises(ValueError, match="unknown colleague"):
        chat.push("tasks", as_="mallory")


def test_a_stranger_is_pushed_by_raw_user_id(chat):
    reply = chat.push("show globex", user_id="USTRANGER")
    assert reply.error and "don't know you" in reply.text


def test_push_once_claims_the_delivery_so_a_repeat_does_nothing(chat, db):
    first = chat.push_once("log globex call first", message_id="Ev42")
    again = chat.push_once("log globex call first", message_id="Ev42")
    assert not first.error and "Already done" in again.text
    with db.session() as s:
        assert len(s.exec(select(Interaction)).all()) == 1
        assert s.exec(select(ProcessedEvent).where(ProcessedEvent.event_id == "once:Ev42")).one()


def test_the_fingerprint_sees_inserts_updates_and_deletes(chat, db, team):
    start = chat.fingerprint()
    assert chat.fingerprint() == start  # reading changes nothing
    with db.session() as s:
        s.get(Customer, team.li).tier = "gold"  # an update, no new row
    updated = chat.fingerprint()
    assert updated["customer"] != start["customer"] and updated["interaction"] == start["interaction"]
    with db.session() as s:
        factories.interaction(s, s.get(Customer, team.li))
    inserted = chat.fingerprint()
    assert inserted["interaction"] != updated["interaction"]
    with db.session() as s:
        s.delete(s.exec(select(Interaction)).one())
    assert chat.fingerprint()["interaction"] == start["interaction"]
    assert chat.fingerprint(ignore=("customer",)).keys() == start.keys() - {"customer"}


def test_factories_make_valid_linked_rows(db):
    with db.session() as s:
        manager = factories.staff(s, role="manager")
        rep = factories.staff(s, manager=manager)
        acme = factories.customer(s, owner=rep, tier="vip", company="Acme")
        call = factories.interaction(s, acme, staff=rep, days_ago=2)
        task = factories.task(s, owner=rep, customer=acme)
        deal = factories.deal(s, acme, amount=5000)
        ticket = factories.ticket(s, acme)
        ids = (rep.manager_id, acme.owner_id, call.customer_id, task.customer_id, deal.owner_id, ticket.customer_id)
        assert ids == (manager.id, rep.id, acme.id, acme.id, rep.id, acme.id)
        assert rep.slack_user_id != manager.slack_user_id and rep.email != manager.email
        assert acme.last_contact_at == call.occurred_at == factories.NOW - timedelta(days=2)
