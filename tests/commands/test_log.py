"""`/crm log`: an interaction with its date (natural language, the user's zone) and summary."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from crm.models import Customer, Interaction
from tests.helpers import count


def test_log_finds_date_and_keeps_summary(chat, db, team, clock):
    reply = chat.push("/crm log globex call yesterday 4pm discussed renewal pricing", as_="alice")
    assert not reply.error, reply.text
    with db.session() as s:
        row = s.exec(select(Interaction)).one()
        # Alice is in New York: yesterday 4pm there is 21:00 UTC on the 22nd
        assert row.occurred_at == datetime(2026, 11, 22, 21, 0, tzinfo=timezone.utc)
        assert (row.kind, row.text, row.staff_id, row.direction) == ("call", "discussed renewal pricing",
                                                                     team.alice, "outbound")
        assert s.get(Customer, team.globex).last_contact_at == row.occurred_at


def test_log_without_date_is_now_and_chinese(chat, db, team, clock):
    assert not chat.push("/crm log 王伟 电话 讨论续约价格", as_="bob").error
    with db.session() as s:
        row = s.exec(select(Interaction)).one()
        assert (row.kind, row.text, row.occurred_at) == ("call", "讨论续约价格", clock.now)


def test_log_chinese_date(chat, db, team):
    assert not chat.push("/crm log 王伟 call 昨天下午4点 讨论续约价格", as_="bob").error
    with db.session() as s:
        row = s.exec(select(Interaction)).one()
        # Bob is in Shanghai (UTC+8): 22 Nov 16:00 local
        assert row.occurred_at == datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
        assert row.text == "讨论续约价格"


def test_log_same_platform_message_twice_stores_once(chat, db, team):
    for _ in range(2):
        chat.push("/crm log globex note met at the fair", message_id="trigger-1", as_="alice")
    assert count(db, Interaction) == 1


@pytest.mark.parametrize("line,fragment", [
    ("/crm log", "who and what kind"),
    ("/crm log globex", "who and what kind"),
    ("/crm log globex dance fun times", "not a kind"),
    ("/crm log nobodyatall call hi", "No customer matches"),
    ("/crm log globex call tomorrow 3pm plan", "in the future"),
])
def test_log_bad_input_changes_nothing(chat, line, fragment):
    chat.refuses(line, fragment)
