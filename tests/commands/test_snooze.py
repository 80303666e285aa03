"""`/crm snooze`: move a follow-up later."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.models import Task


def test_snooze_shortcuts_and_overdue_marking(chat, db, team, clock):
    chat.push("/crm remind globex in 1 hour call", as_="alice")
    with db.session() as s:
        task = s.exec(select(Task)).one()
    clock.now += timedelta(hours=3)
    assert "1 overdue" in chat.push("/crm tasks", as_="alice").text
    chat.push(f"/crm snooze #{task.id} 1h", as_="alice")
    with db.session() as s:
        assert s.get(Task, task.id).due_at == clock.now + timedelta(hours=1)


def test_snooze_to_a_day_the_calendar_lacks_says_so(chat, db, team):
    chat.push("/crm remind globex in 1 hour call", as_="alice")
    with db.session() as s:
        task = s.exec(select(Task)).one()
        due = task.due_at
    reply = chat.push(f"/crm snooze #{task.id} april 31", as_="alice")
    assert reply.error and "April has no 31st" in reply.text, reply.text
    with db.session() as s:
        assert s.get(Task, task.id).due_at == due


@pytest.mark.parametrize("line", ["/crm snooze", "/crm snooze #1", "/crm snooze #1 banana"])
def test_snooze_bad_input_changes_nothing(chat, line):
    chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    chat.refuses(line)
