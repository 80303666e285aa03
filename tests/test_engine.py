"""The engine around every command: parse, identify (unknown users see nothing), authorize, one unit of
work, and failures turned into clear replies."""
from __future__ import annotations

from sqlmodel import select

from crm.models import Interaction
from tests.helpers import count, say


def test_empty_command_shows_help(chat, team):
    assert "Here is what I can do" in chat.push("/crm", as_="alice").text


def test_unknown_command_suggests_the_close_one(chat, team):
    reply = chat.push("/crm shwo globex", as_="alice")
    assert reply.error and "/crm show" in reply.text


def test_unknown_user_gets_no_data(engine, team):
    reply = say(engine, "USTRANGER", "/crm show globex")
    assert reply.error
    text = reply.plain_text()
    assert "Globex" not in text and "ops@globex" not in text and "don't know you" in text


def test_staff_added_by_email_is_linked_on_first_use(engine, db, team):
    from crm.models import Staff

    with db.session() as s:
        s.add(Staff(name="Eve Email", role="rep", email="eve@crm.example"))
    reply = say(engine, "UEVE", "/crm find glob", user_email="EVE@crm.example")
    assert not reply.error
    with db.session() as s:
        assert s.exec(select(Staff).where(Staff.name == "Eve Email")).one().slack_user_id == "UEVE"
    assert not say(engine, "UEVE", "/crm find glob").error  # linked for good


def test_inactive_staff_refused(chat, db, team):
    from crm.models import Staff

    with db.session() as s:
        bob = s.get(Staff, team.bob)
        bob.active = False
    reply = chat.push("/crm find glob", as_="bob")
    assert reply.error and "don't know you" in reply.text and "Globex" not in reply.plain_text()


def test_handler_crash_becomes_apology(chat, team, monkeypatch):
    from bot.registry import COMMANDS

    def boom(ctx):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(COMMANDS["find"], "handler", boom)
    reply = chat.push("/crm find glob", as_="alice")
    assert reply.error and "Sorry, something went wrong" in reply.text and "exploded" not in reply.text


def test_overlong_command_is_refused_politely(chat, db, team):
    reply = chat.push("/crm log globex note " + "x" * 20000, as_="alice")
    assert reply.error and "limit" in reply.text
    assert count(db, Interaction) == 0


def test_an_error_reply_changes_nothing_however_the_handler_answers(chat, db, team, monkeypatch):
    """`raise ctx.fail(...)` and `return Reply.fail(...)` both leave the store as it was."""
    from bot.registry import COMMANDS
    from bot.replies import Reply
    from crm.interactions import log_interaction
    from crm.models import Customer

    def writes_then_returns_failure(ctx):
        log_interaction(ctx.session, ctx.session.get(Customer, team.globex), kind="note", text="half-done",
                        staff=ctx.actor)
        return Reply.fail("That did not work.")

    monkeypatch.setattr(COMMANDS["log"], "handler", writes_then_returns_failure)
    reply = chat.push("/crm log globex note anything", as_="alice")
    assert reply.error and reply.text == "That did not work."
    assert count(db, Interaction) == 0
