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


@pytest.mark.parametrize("line,fragment,user", [
    ("/crm remind globex", "Tell me who", "alice"),
    ("/crm remind globex send the proposal", "couldn't find when", "alice"),
    ("/crm remind globex tomorrow 3pm", "Remind about what", "alice"),
    ("/crm remind globex yesterday 3pm call", "already past", "alice"),
    ("/crm remind globex 31 February send the invoice", "February has no 31st", "alice"),
    ("/crm remind globex 2月30日 发送发票", "February has no 30th", "alice"),  # replies in Alice's language
    ("/crm remind 王伟 2月30日 发送发票", "2月没有30日", "bob"),  # Bob reads Chinese
])
def test_remind_bad_input_changes_nothing(chat, db, team, line, fragment, user):
    before = snapshot(db)
    reply = chat.push(line, as_=user)
    assert reply.error and fragment in reply.text, reply.text
    assert snapshot(db) == before


def test_remind_end_of_month_on_its_last_day(chat, db, team, clock):
    clock.now = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)  # 10:00 on 30 November in New York
    reply = chat.push("/crm remind globex end of month send the invoice", as_="alice")
    assert not reply.error, reply.text
    with db.session() as s:
        task = s.exec(select(Task)).one()
        assert task.due_at == datetime(2026, 12, 31, 14, 0, tzinfo=timezone.utc)  # 09:00 New York
        assert task.title == "send the invoice"
