"""Slack mrkdwn → Telegram HTML, and Telegram entities → Slack rich text (integrations/formatting.py)."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from integrations.formatting import (mentioned_users, slack_to_plain, slack_to_telegram_html, telegram_spans,
                                     telegram_to_mrkdwn, telegram_to_rich_text)

PAYLOADS = Path(__file__).parent / "payloads"
NAMES = {"UMGR": "Mia Manager", "UADA": "Ada <Admin>"}.get
TELEGRAM_TAGS = {"b", "i", "s", "u", "code", "pre", "a", "blockquote", "tg-spoiler"}


class _Checker(HTMLParser):
    """Fails on anything Telegram's HTML parse mode would refuse: unknown tags, unbalanced ones."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in TELEGRAM_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def well_formed(markup: str) -> str:
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert not checker.stack, checker.stack
    return markup


@pytest.mark.parametrize("mrkdwn, expected", [
    ("*today*", "<b>today</b>"),
    ("_soon_", "<i>soon</i>"),
    ("~old~", "<s>old</s>"),
    ("`code`", "<code>code</code>"),
    ("see ```line 1\n*not bold* <b>\nline 3```", "see <pre>line 1\n*not bold* &lt;b&gt;\nline 3</pre>"),
    ("*bold _and italic_*", "<b>bold <i>and italic</i></b>"),
    ("&gt; quoted\n&gt; twice\nnot quoted", "<blockquote>quoted\ntwice</blockquote>\nnot quoted"),
    ("- one\n- two\n• three\n1. four", "• one\n• two\n• three\n1. four"),
    ("Tom &amp; Jerry &lt;3", "Tom &amp; Jerry &lt;3"),
    ("snake_case_name costs 2*3*4 and a*b", "snake_case_name costs 2*3*4 and a*b"),
    ("* not a list, not bold*", "• not a list, not bold*"),
])
def test_slack_markup_becomes_telegram_html(mrkdwn, expected):
    assert well_formed(slack_to_telegram_html(mrkdwn)) == expected


def test_the_issue_example_reaches_customers_formatted_not_as_typed():
    text = ("*today*, _soon_, ~old~, `code` :slightly_smiling_face: <@UMGR> will help; "
            "<https://acme.example/faq|our FAQ>")
    out = well_formed(slack_to_telegram_html(text, NAMES))
    assert out == ('<b>today</b>, <i>soon</i>, <s>old</s>, <code>code</code> 🙂 Mia Manager will help; '
                   '<a href="https://acme.example/faq">our FAQ</a>')
    assert slack_to_plain(text, NAMES) == ("today, soon, old, code 🙂 Mia Manager will help; "
                                           "our FAQ (https://acme.example/faq)")


def test_mentions_become_names_escaped_and_unknown_people_are_not_raw_ids():
    assert well_formed(slack_to_telegram_html("ask <@UADA>", NAMES)) == "ask Ada &lt;Admin&gt;"
    assert slack_to_telegram_html("ask <@UNOBODY>", NAMES) == "ask a colleague"
    assert slack_to_telegram_html("ask <@UNOBODY|bob>", NAMES) == "ask bob"
    assert mentioned_users("<@UMGR> and <@UADA|ada> and <@UMGR>") == ["UMGR", "UADA"]


def test_special_mentions_are_dropped_and_others_keep_their_label():
    assert slack_to_telegram_html("<!here> the office is closed") == "the office is closed"
    assert slack_to_telegram_html("Hi <!channel|channel> <!everyone>") == "Hi"
    assert slack_to_telegram_html("from <!subteam^S0614TZR7|@sales-team>") == "from @sales-team"
    assert slack_to_telegram_html("see <#C024BE7LR|general>") == "see #general"
    assert slack_to_telegram_html("see <#C024BE7LR>") == "see our team's channel"
    assert slack_to_telegram_html("ask <!subteam^S0614TZR7>") == "ask our team"
    assert slack_to_telegram_html("on <!date^1392734382^{date_short}|Feb 18, 2014>") == "on Feb 18, 2014"


def test_links_keep_their_url_and_odd_schemes_are_not_links():
    assert slack_to_telegram_html("<https://a.example/x?a=1&amp;b=2|the &lt;form&gt;>") == \
        '<a href="https://a.example/x?a=1&amp;b=2">the &lt;form&gt;</a>'
    assert slack_to_telegram_html("<https://a.example/plain>") == "https://a.example/plain"
    assert slack_to_telegram_html("<mailto:help@acme.example|help@acme.example>") == \
        '<a href="mailto:help@acme.example">help@acme.example</a>'
    assert slack_to_telegram_html('<javascript:alert(1)|click" onclick="x>') == 'click" onclick="x'


def test_emoji_shortcodes_skin_tones_and_custom_emoji():
    assert slack_to_telegram_html(":tada: :+1::skin-tone-3: :white_check_mark:") == "🎉 👍🏼 ✅"
    assert slack_to_telegram_html(":our_custom_logo: at 10:30:00") == ":our_custom_logo: at 10:30:00"


def test_nothing_typed_can_break_telegram_html():
    nasty = "<b>*a_b* _<i>_ ~`x`~ ```<pre>``` &amp;lt; </a> *unclosed _also"
    well_formed(slack_to_telegram_html(nasty))


# ---------------------------------------------------------------- Telegram → Slack

def _payload(name: str) -> dict:
    return json.loads((PAYLOADS / "telegram" / f"{name}.json").read_text())


def _texts(block: dict) -> list[dict]:
    return [e for section in block["elements"] for e in section["elements"]]


def test_telegram_entities_become_rich_text_styles_from_a_recorded_update():
    message = _payload("text_entities")["message"]
    block = telegram_to_rich_text(message["text"], message["entities"])
    elements = _texts(block)
    assert {"type": "text", "text": "Hello", "style": {"bold": True}} in elements
    assert {"type": "text", "text": "*all*", "style": {"italic": True}} in elements
    assert {"type": "text", "text": "`rm`", "style": {"code": True}} in elements
    link = next(e for e in elements if e["type"] == "link" and e["text"] == "docs")
    assert link["url"] == "https://evil.example/?a=<b>"
    # the label cannot hide where the link goes
    assert any(e["type"] == "text" and "https://evil.example" in e["text"] for e in elements)
    # everything else, <!channel> included, is a literal text element: Slack does not parse those
    assert "".join(e["text"] for e in elements if e["type"] in ("text", "link")).startswith("Hello *all* <!channel>")


def test_customer_text_cannot_ping_link_or_format_in_the_mrkdwn_fallback():
    out = telegram_to_mrkdwn("<!channel> <@U123> <https://evil.example|bank> & @here", [])
    assert "<!" not in out and "<@" not in out and "<http" not in out and "@here" not in out
    assert out.startswith("&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|bank&gt; &amp;")


def test_telegram_entities_become_mrkdwn_markers_and_links_are_written_out():
    message = _payload("text_entities")["message"]
    out = telegram_to_mrkdwn(message["text"], message["entities"])
    assert out.startswith("*Hello* _*all*_ &lt;!channel&gt; see docs (https://evil.example/?a=&lt;b&gt;) @ceo `")
    assert "<http" not in out and "~~x~~" in out


def test_entity_offsets_count_utf16_units():
    text = "😀 bold 好"
    spans = telegram_spans(text, [{"type": "bold", "offset": 3, "length": 4}])
    assert ("bold", {"styles": {"bold"}, "url": None, "pre": False, "quote": False}) in spans
    assert "".join(piece for piece, _ in spans) == text


def test_pre_and_quotes_become_their_own_rich_text_parts():
    text = "look\nline1\nline2\nsaid"
    block = telegram_to_rich_text(text, [{"type": "pre", "offset": 5, "length": 11},
                                         {"type": "blockquote", "offset": 18, "length": 4}], lead="💬 Ann:")
    kinds = [s["type"] for s in block["elements"]]
    assert kinds == ["rich_text_section", "rich_text_preformatted", "rich_text_section", "rich_text_quote"]
    assert block["elements"][0]["elements"][0] == {"type": "text", "text": "💬 Ann: ", "style": {"bold": True}}


# ---------------------------------------------------------------- neutral mentions in replies

def test_replies_carry_a_neutral_mention_each_renderer_draws_its_own_way(engine, team):
    from integrations.slack import blocks as kit
    from integrations.console import render as console_render
    from integrations.telegram.render import render_html
    from rich.console import Console
    from tests.helpers import say

    reply = say(engine, "UADA", "/crm staff")
    assert "<@" not in reply.plain_text() and "@Ada Admin" in reply.plain_text()
    slack = json.dumps(kit.render(reply)[1])
    assert "<@UADA>" in slack and "&lt;@" not in slack
    telegram = "\n".join(render_html(reply))
    assert "@Ada Admin" in telegram and "UADA" not in telegram and "&lt;@" not in telegram
    console = Console(record=True, width=200)
    console.print(console_render(reply))
    assert "@Ada Admin" in console.export_text() and "\ue000" not in console.export_text()


def test_text_from_outside_cannot_forge_a_mention():
    from bot.replies import mention, strip_mentions
    from integrations.slack import blocks as kit

    forged = mention("x", "UADA")
    assert kit.escape(strip_mentions(f"Hi {forged}")) == "Hi UADAx"


def test_the_bot_token_only_goes_to_slacks_file_servers():
    from integrations.telegram.media import _slack_host

    api = "https://slack.com/api/"
    assert _slack_host("https://files.slack.com/files-pri/T1-F1/x.png", api)
    assert _slack_host("https://files.slack-gov.com/files-pri/T1-F1/x.png", api)
    assert not _slack_host("https://docs.google.com/document/d/1", api)
    assert not _slack_host("https://files.slack.com.evil.example/x", api)
    assert _slack_host("http://127.0.0.1:9/files-pri/x", "http://127.0.0.1:9/api/")
