"""`/crm tasks`: open follow-ups, soonest and overdue first; private to their owner and manager."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from crm.models import Task


def test_tasks_done_snooze_flow(chat, db, team, clock):
    chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    chat.push("/crm remind #%d in 2 hours call back" % team.li, as_="alice")
    listing = chat.push("/crm tasks", as_="alice")
    assert "2 open follow-ups" in listing.text
    assert "call back" in listing.items[0].text  # soonest first
    with db.session() as s:
        first, second = sorted(s.exec(select(Task)).all(), key=lambda t: t.due_at)
    assert [b.command for b in listing.items[0].buttons][0] == f"done #{first.id}"
    reply = chat.push(f"/crm snooze #{first.id} tomorrow 9am", as_="alice")
    assert not reply.error, reply.text
    with db.session() as s:
        assert s.get(Task, first.id).due_at == datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)
    assert "Done" in chat.push("/crm done proposal", as_="alice").text
    with db.session() as s:
        assert s.get(Task, second.id).status == "done"
    assert "already done" in chat.push(f"/crm done #{second.id}", as_="alice").text


def test_tasks_are_private_to_owner_and_manager(chat, db, team):
    chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    with db.session() as s:
        task = s.exec(select(Task)).one()
    assert chat.push(f"/crm done #{task.id}", as_="bob").error
    assert chat.push("/crm tasks @UALICE", as_="bob").error
    assert "1 open" in chat.push("/crm tasks @UALICE", as_="maria").text
    assert not chat.push(f"/crm done #{task.id}", as_="maria").error
