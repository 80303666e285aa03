"""`/crm help`: the command list and one command's help, built from what each handler registers."""
from __future__ import annotations


def test_help_lists_every_command_from_usage_text(chat, team):
    from bot.registry import COMMANDS

    text = chat.push("/crm help", as_="alice").plain_text()
    for name, spec in COMMANDS.items():
        assert f"/crm {spec.usage}" in text, name


def test_help_for_one_command_shows_usage_and_examples(chat, team):
    reply = chat.push("/crm help log", as_="alice")
    text = reply.plain_text()
    assert "/crm log <customer> call|email|meeting|chat|note [when] <summary>" in text
    assert "yesterday 4pm" in text


def test_help_unknown_command(chat, team):
    reply = chat.push("/crm help frobnicate", as_="alice")
    assert reply.error and "frobnicate" in reply.text


def test_chinese_user_gets_chinese_help(chat, team):
    assert "我可以做这些" in chat.push("/crm help", as_="bob").text
