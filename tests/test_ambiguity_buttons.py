"""A customer reference that fits several customers offers one button per candidate that reruns
the ORIGINAL command on that candidate (issue 15), in Slack, Telegram and the terminal."""
from __future__ import annotations

import io

import pytest
from rich.console import Console
from sqlmodel import select

from crm.customers import create_customer
from crm.models import Staff, Task
from integrations.console import ConsoleChat
from tests.helpers import say


@pytest.fixture
def sarahs(db, team):
    with db.session() as s:
        alice = s.get(Staff, team.alice)
        ids = [create_customer(s, name, company=company, owner=alice).id
               for name, company in (("Sarah Lee", "Acme"), ("Sarah Connor", "Cyberdyne"), ("Sarah Kim", "Initrode"))]
    return ids


def test_ambiguous_remind_offers_to_rerun_the_command_on_each_candidate(engine, db, team, sarahs):
    reply = say(engine, "UALICE", "/crm remind sarah 3 Dec intro call")
    assert reply.error and len(reply.items) == 3
    commands = [item.buttons[0].command for item in reply.items]
    assert sorted(commands) == sorted(f"remind #{cid} 3 Dec intro call" for cid in sarahs)
    with db.session() as s:
        assert s.exec(select(Task)).all() == []  # nothing happened yet
    chosen = commands[1]
    done = say(engine, "UALICE", chosen)
    assert not done.error, done.text
    with db.session() as s:
        task, = s.exec(select(Task)).all()
        assert task.title == "intro call" and task.customer_id == int(chosen.split()[1][1:])


def test_rerun_keeps_options_and_quotes(engine, team, sarahs):
    reply = say(engine, "UALICE", '/crm deal sarah 12000 proposal "pilot" close=2026-12-15')
    cmd = reply.items[0].buttons[0].command
    assert cmd.startswith("deal #") and cmd.endswith('12000 proposal "pilot" close=2026-12-15')


def test_chinese_reader_gets_chinese_labels(engine, team, sarahs):
    reply = say(engine, "UBOB", "/crm show sarah")
    assert "查看" in [b.label for item in reply.items for b in item.buttons]


def _chat(engine, user="Alice Rep"):
    out = io.StringIO()
    return ConsoleChat(engine, user, Console(file=out, width=140, color_system=None)), out


def test_terminal_numbers_press_the_candidate_buttons(engine, db, team, sarahs):
    chat, out = _chat(engine)
    chat.run_line("remind sarah tomorrow 10am intro call")
    text = out.getvalue()
    assert "Type 1–" in text and "[1] remind #" in text
    number = next(i for i, b in enumerate(chat.buttons, 1) if b.command.startswith(f"remind #{sarahs[2]} "))
    reply = chat.run_line(str(number))
    assert not reply.error, reply.text
    with db.session() as s:
        assert s.exec(select(Task.customer_id)).all() == [sarahs[2]]


def test_a_number_with_no_such_button(engine, team):
    chat, out = _chat(engine)
    reply = chat.run_line("99")
    assert reply.error and "There is no button 99" in reply.text
    reply = say(engine, "UALICE", "99")  # the same in a Slack or Telegram DM
    assert reply.error and "There is no button 99" in reply.text


def test_slack_renders_each_candidate_with_its_rerun_button(engine, team, sarahs):
    from integrations.slack.blocks import render

    reply = say(engine, "UALICE", "/crm log sarah call discussed the pilot")
    _, blocks = render(reply)
    values = [el["value"] for b in blocks for el in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
              if isinstance(el, dict) and el.get("type") == "button"]
    values += [o["value"].split("|", 1)[1] for b in blocks if b.get("accessory", {}).get("type") == "overflow"
               for o in b["accessory"]["options"]]
    assert sorted(v for v in values if v.startswith("log ")) == sorted(
        f"log #{cid} call discussed the pilot" for cid in sarahs)


def test_telegram_staff_chat_gets_one_button_per_candidate_that_reruns_the_command(telegram_bot, db, sarahs):
    """Through python-telegram-bot and the Bot API stand-in: Alice (Telegram 5001) types an ambiguous
    command, gets one inline button per candidate, presses Sarah Kim's and the reminder is set on her."""
    telegram_bot.say(5001, "/crm remind sarah 3 Dec intro call", first_name="Alice")
    reply = telegram_bot.last_reply(5001)
    keyboard = reply.markup["inline_keyboard"]
    buttons = [b for row in keyboard for b in row]
    for name in ("Sarah Lee", "Sarah Connor", "Sarah Kim"):
        assert name in reply.text
    # a keyboard sits apart from the message's lines: each rerun button must say whom it is for
    reruns = [b for b in buttons if b["text"].lower().startswith("remind")]
    assert len(reruns) == 3, [b["text"] for b in buttons]
    kim = next(b for b in reruns if "Sarah Kim" in b["text"])
    with db.session() as s:
        assert s.exec(select(Task)).all() == []
    telegram_bot.send(telegram_bot.updates.callback(5001, kim["callback_data"], first_name="Alice"))
    done = telegram_bot.last_reply(5001, 2)
    assert "intro call" in done.text, done.text
    with db.session() as s:
        task, = s.exec(select(Task)).all()
    assert task.customer_id == sarahs[2] and task.title == "intro call"
