"""Long replies fit the platforms' limits: split, never rejected, nothing lost.

Slack: at most 50 blocks per message, 3,000 characters per section, 40,000 per message text;
a longer reply becomes several messages. Telegram: at most 4,096 characters per message
(counted in UTF-16 code units, as Telegram counts them), split between lines and never inside
an HTML tag or entity.
"""
from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from hypothesis import given, settings, strategies as st

from bot.replies import Button, Item, Reply, Section
from integrations.slack import blocks as kit
from integrations.telegram.render import LIMIT, render_html, split_text

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
long_text = st.one_of(text, st.sampled_from(["x" * 40_000, "王伟&<b>" * 6000, "😀" * 5000, "a\n" * 20_000,
                                             ("line & <tag> " * 50 + "\n") * 70, "&amp;" * 9000]))


def utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


# ---- Telegram ---------------------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "tg-spoiler", "blockquote"}


class TagChecker(HTMLParser):
    """Fails on unbalanced tags or tags Telegram does not know; collects the visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def well_formed(chunk: str) -> str:
    # every & starts a complete entity: a chunk never ends inside "&amp;"
    assert not re.search(r"&(?!(amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);)", chunk), chunk[-40:]
    checker = TagChecker()
    checker.feed(chunk)
    checker.close()
    assert checker.stack == [], checker.stack
    return "".join(checker.text)


def visible(s: str) -> str:
    return re.sub(r"\s+", "", s)


# a small limit exercises the same splitting as 4,096 with inputs hypothesis can shrink quickly
SMALL = 120
mid_text = st.one_of(text, st.sampled_from(["x" * 500, "王伟&<b>" * 60, "😀" * 200, "a\n" * 150, "&amp;" * 90]))


@settings(max_examples=80, deadline=None)
@given(title=mid_text, fields=st.lists(st.tuples(text, mid_text), max_size=4),
       items=st.lists(text, max_size=30), sections=st.lists(st.tuples(text, mid_text), max_size=3))
def test_telegram_reply_messages_fit_and_keep_every_character(title, fields, items, sections):
    reply = Reply(text=title, fields=fields, items=[Item(i) for i in items],
                  sections=[Section(t, body) for t, body in sections])
    chunks = render_html(reply, limit=SMALL)
    assert chunks
    shown = ""
    for chunk in chunks:
        assert utf16(chunk) <= SMALL
        shown += well_formed(chunk)
    expected = [title] + [f"{k}: {v}" for k, v in fields] + [f"• {i}" for i in items]
    for t, body in sections:
        expected += [t, body]
    assert visible(shown) == visible("".join(expected))


def test_a_40000_character_reply_is_split_on_line_boundaries():
    lines = [f"{n:05d} Globex & <Initech> 王伟 — follow up on the renewal" for n in range(800)]
    chunks = render_html(Reply(text="\n".join(lines)))
    assert len(chunks) >= 10
    for chunk in chunks:
        assert utf16(chunk) <= LIMIT
        well_formed(chunk)
        # split between lines: every line arrives whole
        assert all(html.unescape(line) in lines for line in chunk.split("\n"))
    assert sum(len(c.split("\n")) for c in chunks) == len(lines)


def test_emoji_count_twice_towards_telegrams_limit():
    chunks = split_text("😀" * 5000)
    assert all(utf16(c) <= LIMIT for c in chunks)
    assert "".join(chunks) == "😀" * 5000


# ---- Slack ------------------------------------------------------------------------------------

def check_slack_message(text_: str, blocks: list[dict]) -> None:
    assert len(text_) <= 40_000
    assert len(blocks) <= kit.MESSAGE_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= kit.SECTION_TEXT
            for field in block.get("fields", []):
                assert len(field["text"]) <= kit.FIELD_TEXT
            assert len(block.get("fields", [])) <= kit.FIELDS_PER_SECTION
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    assert len(json.dumps(blocks)) < 400_000


def slack_visible(messages: list[tuple[str, list[dict]]]) -> str:
    out = []
    for _, blocks in messages:
        for block in blocks:
            if block["type"] in ("section", "header") and "text" in block:
                out.append(block["text"]["text"])
            out += [f["text"] for f in block.get("fields", [])]
    return html.unescape(visible("".join(out)).replace("&amp;", "&"))


def test_slack_40000_character_reply_is_several_sections_within_one_message():
    lines = [f"{n:05d} Globex & <Initech> 王伟 — follow up" for n in range(1000)]
    messages = kit.render_messages(Reply(text="\n".join(lines)))
    for text_, blocks in messages:
        check_slack_message(text_, blocks)
    shown = slack_visible(messages)
    assert all(visible(line) in shown for line in lines[::37])


def test_slack_reply_past_50_blocks_becomes_several_messages_with_nothing_lost():
    items = [Item(f"task {n}: call 王伟 about the renewal", [Button("Done", f"done #{n}"),
                                                          Button("Snooze", f"snooze #{n}", form="snooze")])
             for n in range(120)]
    messages = kit.render_messages(Reply(text="Your follow-ups", items=items))
    assert 2 <= len(messages) <= kit.MAX_MESSAGES
    for text_, blocks in messages:
        check_slack_message(text_, blocks)
    shown = slack_visible(messages)
    assert all(f"task{n}:" in shown for n in range(120))
    # every task keeps its buttons, across the messages
    elements = [e for _, blocks in messages for b in blocks
                for e in (b.get("elements", []) if b["type"] == "actions" else [b.get("accessory") or {}])]
    commands = [e.get("value", "") for e in elements] + [kit.parse_menu_value(o["value"])[1]
                                                         for e in elements for o in e.get("options", [])]
    assert sum(1 for c in commands if c.startswith("done #")) == 120


def test_slack_reply_beyond_five_messages_is_cut_with_a_note():
    messages = kit.render_messages(Reply(text="many", items=[Item(f"row {n}", [Button("Show", f"show #{n}")])
                                                          for n in range(1000)]))
    assert len(messages) == kit.MAX_MESSAGES
    for text_, blocks in messages:
        check_slack_message(text_, blocks)
    assert "not shown" in json.dumps(messages[-1][1])


@settings(max_examples=40, deadline=None)
@given(title=long_text, items=st.lists(text, max_size=300), fields=st.lists(st.tuples(text, long_text), max_size=30))
def test_slack_any_reply_renders_within_the_limits(title, items, fields):
    messages = kit.render_messages(Reply(text=title, fields=fields, items=[Item(i) for i in items]))
    assert 1 <= len(messages) <= kit.MAX_MESSAGES
    for text_, blocks in messages:
        check_slack_message(text_, blocks)
