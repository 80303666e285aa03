"""`/crm digest`: a preview of today's digest (team for managers, personal for reps) and the subscription."""
from __future__ import annotations

import pytest

from crm.models import Staff
from tests.digest_support import EIGHT_LONDON, PNG_MAGIC, seed_known_day
from tests.helpers import say


def test_crm_digest_previews_the_team_digest_for_managers_and_the_personal_one_for_reps(chat, engine, team, clock):
    seed_known_day(engine.db, team)
    clock.now = EIGHT_LONDON
    team_view = chat.push("/crm digest", as_="maria")
    assert team_view.text.startswith("Preview — ☀️ Team digest for Maria Manager")
    assert team_view.image_path and open(team_view.image_path, "rb").read(8) == PNG_MAGIC
    mine = chat.push("/crm digest", as_="alice")
    assert mine.text.startswith("Preview — ☀️ Your morning digest")
    assert "Bob Rep" not in mine.plain_text()


def test_crm_digest_subscribe_and_unsubscribe(chat, db, team):
    on = chat.push("/crm digest subscribe", as_="bob")
    assert not on.error and "已订阅" in on.text and "Asia/Shanghai" in on.text
    again = chat.push("/crm digest subscribe", as_="bob")
    assert "已经" in again.text
    with db.session() as s:
        assert s.get(Staff, team.bob).digest_subscribed
    off = chat.push("/crm digest unsubscribe", as_="bob")
    assert not off.error
    with db.session() as s:
        assert not s.get(Staff, team.bob).digest_subscribed
    manager = chat.push("/crm digest unsubscribe", as_="maria")
    assert "cannot be switched off" in manager.text


@pytest.mark.parametrize("line", ["/crm digest weekly", "/crm digest subscribe now"])
def test_crm_digest_with_a_wrong_word_explains_and_changes_nothing(chat, db, team, line):
    reply = chat.push(line, as_="alice")
    assert reply.error and reply.usage == "digest [subscribe|unsubscribe]"
    assert "/crm digest subscribe" in reply.text
    with db.session() as s:
        assert not s.get(Staff, team.alice).digest_subscribed


def test_an_unknown_user_gets_no_digest(engine, team):
    reply = say(engine, "USTRANGER", "/crm digest")
    assert reply.error and "Maria" not in reply.plain_text() and reply.image_path is None


def test_digest_for_a_manager_on_an_empty_day(chat, team):
    reply = chat.push("/crm digest", as_="maria")
    assert not reply.error and reply.text.startswith("Preview — ☀️ Team digest for Maria Manager")
    assert reply.image_path
