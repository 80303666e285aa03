"""Pure pieces of the Telegram inbox: HTML rendering and splitting, business hours, file URLs, command lines."""
from __future__ import annotations

import html
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from bot.replies import Button, Item, Reply, Section
from bot.settings import Settings
from crm.inbox.hours import out_of_office_text, outside_business_hours
from integrations.telegram.adapter import file_url_for, webhook_secret
from integrations.telegram.render import LIMIT, render_html, reply_buttons, split_text
from integrations.telegram.staff import command_line


def test_reply_renders_as_escaped_html_with_buttons_in_order():
    reply = Reply(text="<Acme & Co>", fields=[("Owner", "Bob <b>")],
                  items=[Item("task <1>", [Button("Done", "done #1")])],
                  sections=[Section("Deals", items=[Item("€5,000 · proposal")])], buttons=[Button("Log", "log #1")],
                  usage="show <customer>")
    [text] = render_html(reply)
    assert text.startswith("<b>&lt;Acme &amp; Co&gt;</b>")
    assert "<b>Owner:</b> Bob &lt;b&gt;" in text and "• task &lt;1&gt;" in text and "<b>Deals</b>" in text
    assert "<code>/crm show &lt;customer&gt;</code>" in text
    assert [b.command for b in reply_buttons(reply)] == ["done #1", "log #1"]


def test_long_replies_split_on_line_boundaries():
    lines = [f"line {i:04d} " + "x" * 50 for i in range(300)]
    chunks = split_text("\n".join(lines))
    assert len(chunks) > 1 and all(len(c) <= LIMIT for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, no line cut


def test_an_overlong_line_is_cut_without_breaking_entities():
    chunks = split_text("&" * 5000)  # every character escapes to five
    assert all(len(c) <= LIMIT for c in chunks)
    assert html.unescape("".join(chunks)) == "&" * 5000
    assert all(not c.endswith(("&", "&a", "&am", "&amp")) for c in chunks)


@hsettings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <>&\n中文")), max_size=12000))
def test_splitting_never_exceeds_the_limit_and_keeps_the_text(text):
    chunks = split_text(text)
    assert all(len(c) <= LIMIT for c in chunks)
    kept = html.unescape("".join(c.replace("\n", "") for c in chunks))
    assert kept == text.replace("\n", "") or not text.strip()


def _settings(**kw) -> Settings:
    return Settings(_env_file=None, **kw)


@pytest.mark.parametrize("moment, outside", [
    (datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc), False),  # Monday 10:00
    (datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc), True),  # closing time is outside
    (datetime(2026, 11, 23, 8, 59, tzinfo=timezone.utc), True),
    (datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc), True),  # Saturday
])
def test_business_hours_in_utc(moment, outside):
    assert outside_business_hours(_settings(), moment) is outside


def test_business_hours_use_the_business_time_zone():
    shanghai = _settings(crm_timezone="Asia/Shanghai")
    # 02:00 UTC Monday is 10:00 in Shanghai
    assert outside_business_hours(shanghai, datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)) is False
    assert outside_business_hours(shanghai, datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)) is True


def test_business_hours_across_midnight():
    night = _settings(business_hours="22:00-06:00", business_days="mon,tue")
    assert outside_business_hours(night, datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)) is False  # Mon 23:00
    assert outside_business_hours(night, datetime(2026, 11, 24, 5, 0, tzinfo=timezone.utc)) is False  # Tue 05:00
    assert outside_business_hours(night, datetime(2026, 11, 26, 5, 0, tzinfo=timezone.utc)) is True  # Thu 05:00
    assert outside_business_hours(night, datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)) is True


def test_out_of_office_text_names_the_hours_in_both_languages():
    s = _settings(business_hours="09:00-17:30", business_days="mon,wed")
    assert "Mon, Wed, 09:00-17:30" in out_of_office_text(s, "en")
    assert "周一, 周三 09:00-17:30" in out_of_office_text(s, "zh")


def test_file_url_and_webhook_secret():
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:9/bot/") == "http://127.0.0.1:9/file/bot"
    derived = webhook_secret(_settings(telegram_bot_token="1:abc"))
    assert derived == webhook_secret(_settings(telegram_bot_token="1:abc"))  # every instance agrees
    assert derived != webhook_secret(_settings(telegram_bot_token="1:abd"))
    assert webhook_secret(_settings(telegram_bot_token="1:abc", telegram_webhook_secret="mine")) == "mine"


@pytest.mark.parametrize("typed, line", [("/crm show globex", "/crm show globex"), ("/tasks", "tasks"),
                                         ("/show@acme_support_bot globex", "show globex"), ("/start", "help"),
                                         ("find glob", "find glob")])
def test_staff_command_lines(typed, line):
    assert command_line(typed) == line
