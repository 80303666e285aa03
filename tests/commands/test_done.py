"""`/crm done`: mark a follow-up done."""
from __future__ import annotations

import pytest
from sqlmodel import select

from crm.models import Task


@pytest.mark.parametrize("line", ["/crm done", "/crm done #999", "/crm done nothing-matches"])
def test_done_bad_input_changes_nothing(chat, db, team, line):
    chat.push("/crm remind globex tomorrow 3pm send the proposal", as_="alice")
    with db.session() as s:
        before = [(t.status, t.due_at) for t in s.exec(select(Task)).all()]
    assert chat.push(line, as_="alice").error
    with db.session() as s:
        assert [(t.status, t.due_at) for t in s.exec(select(Task)).all()] == before
