"""`/crm remind`: a follow-up at a time in the user's zone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from crm.models import Task
from tests.helpers import snapshot


def test_remind_creates_task_in_users_zone(chat, db, team):
    reply = chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    assert not reply.error, reply.text
    with db.session() as s:
        task = s.exec(select(Task)).one()
        assert task.due_at == datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)  # 15:00 New York
        assert (task.title, task.owner_id, task.customer_id) == ("send the proposal", team.alice, team.globex)


def test_remind_chinese(chat, db, team):
    assert not chat.push("/crm remind 王伟 下周五下午2点 回电话", as_="bob").error
    with db.session() as s:
        task = s.exec(select(Task)).one()
        assert task.due_at == datetime(2026, 12, 4, 6, 0, tzinfo=timezone.utc)  # Fri 4 Dec 14:00 Shanghai
        assert task.title == "回电话"


@pytest.mark.parametrize("line,fragment", [
    ("/crm remind globex", "Tell me who"),
    ("/crm remind globex send the proposal", "couldn't find when"),
    ("/crm remind globex tomorrow 3pm", "Remind about what"),
    ("/crm remind globex yesterday 3pm call", "already past"),
])
def test_remind_bad_input_changes_nothing(chat, db, team, line, fragment):
    before = snapshot(db)
    reply = chat.push(line, as_="alice")
    assert reply.error and fragment in reply.text, reply.text
    assert snapshot(db) == before
