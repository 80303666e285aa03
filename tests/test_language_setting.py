"""Replies follow the staff member's language setting, never the script typed (issue 15)."""
from __future__ import annotations

import re

from tests.helpers import say

_CJK = re.compile(r"[\u3400-\u9fff]")


def _without_names(text: str) -> str:
    for name in ("王伟", "华为技术"):
        text = text.replace(name, "")
    return text


def test_english_rep_typing_a_chinese_name_reads_english(engine, team, clock):
    reply = say(engine, "UALICE", "/crm log 王伟 call yesterday 10am 讨论续约")
    assert not reply.error, reply.text
    assert reply.text.startswith("Logged a call with 王伟")
    assert [label for label, _ in reply.fields] == ["Summary"]


def test_english_rep_sees_an_english_card_for_a_chinese_customer(engine, team):
    reply = say(engine, "UALICE", "/crm show 王伟")
    everything = reply.plain_text() + " ".join(b.label for b in reply.buttons)
    assert not _CJK.search(_without_names(everything)), everything


def test_chinese_rep_reads_chinese_even_when_typing_english(engine, team):
    reply = say(engine, "UBOB", "/crm show initech")
    assert [label for label, _ in reply.fields][:2] == ["公司", "负责人"]
    assert [b.label for b in reply.buttons] == ["记录互动", "添加跟进"]


def test_language_setting_switches_replies(engine, team):
    say(engine, "UADA", "/crm staff set @alice language=zh")
    assert say(engine, "UALICE", "/crm log globex call discussed pricing").text.startswith("已记录")
    say(engine, "UADA", "/crm staff set @alice language=en")
    assert say(engine, "UALICE", "/crm log 王伟 call 续约").text.startswith("Logged a call")


def test_new_staff_get_the_business_language(engine, db, team, settings):
    from sqlmodel import select

    from crm.models import Staff

    settings.crm_language = "zh"
    say(engine, "UADA", '/crm staff add "Zhang Min" role=rep email=zm@crm.example')
    with db.session() as s:
        assert s.exec(select(Staff).where(Staff.name == "Zhang Min")).one().language == "zh"


def test_plurals_and_articles(engine, team, clock):
    assert "Logged an email" in say(engine, "UALICE", "/crm log globex email sent the deck").text
    say(engine, "UALICE", "/crm remind globex tomorrow 3pm send the proposal")
    assert say(engine, "UALICE", "/crm tasks").text.startswith("1 open follow-up,")
    say(engine, "UALICE", "/crm remind globex friday 3pm call back")
    assert say(engine, "UALICE", "/crm tasks").text.startswith("2 open follow-ups,")
    assert say(engine, "UALICE", "/crm find globex").text.startswith("2 matches")


def test_plural_helpers_use_cldr():
    from crm.i18n import days_ago, days_overdue, format_money, money_totals

    assert days_ago("en", 1) == "yesterday" and days_ago("en", 3) == "3 days ago" and days_ago("zh", 3) == "3 天前"
    assert days_overdue("en", 0) == "less than a day overdue" and days_overdue("en", 1) == "1 day overdue"
    assert format_money(50000, "CNY", "en") == "CN¥50,000" and format_money(50000, "CNY", "zh") == "¥50,000"
    assert money_totals([(100, "USD"), (700, "CNY")], "en") == "$100 + CN¥700"
    assert money_totals([(100, "USD"), (700, "CNY")], "en", rates={"CNY": 0.14}).startswith("$198")


def test_help_and_invite_labels_follow_the_language(engine, team):
    bob = say(engine, "UBOB", "/crm help log")
    assert [k for k, _ in bob.fields] == ["用法", "示例"]
    assert [s.title for s in say(engine, "UBOB", "/crm help").sections][0] == "客户"
    alice = say(engine, "UALICE", "/crm help 记录")
    assert alice.error and alice.text.startswith("There is no command")
    invite = say(engine, "UBOB", "/crm invite 王伟")
    assert not invite.error and invite.fields[0][0] == "链接"
