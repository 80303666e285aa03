"""A reminder names its customer in the owner's language, like the rest of it (issue 15)."""
from __future__ import annotations

from types import SimpleNamespace

from crm.models import Task
from scheduler.reminders import _load
from tests.helpers import utc


def test_reminder_label_in_the_owners_language(db, team):
    with db.session() as s:
        zh = Task(customer_id=team.wang, owner_id=team.bob, created_by_id=team.bob, title="回电话",
                  due_at=utc(2026, 11, 23, 9))
        en = Task(customer_id=team.globex, owner_id=team.alice, created_by_id=team.alice, title="call back",
                  due_at=utc(2026, 11, 23, 9))
        s.add_all([zh, en])
        s.flush()
        ids = (zh.id, en.id)
    loaded = _load(db, [SimpleNamespace(task_id=i) for i in ids])
    assert loaded[ids[0]][2].endswith("负责人 Bob Rep")
    assert loaded[ids[1]][2].endswith("owner Alice Rep")
