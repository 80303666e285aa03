"""Block Kit rendering and Slack text handling, without a server."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.replies import Button, Item, Reply, Section
from integrations.slack import blocks as kit
from integrations.slack.forms import error_block, form_command
from integrations.slack.wire import unescape


def test_unescape_slack_wire_format():
    assert unescape("<@U123|alice>") == "@U123"
    assert unescape("<@U123>") == "@U123"
    assert unescape("<mailto:a@b.example|a@b.example>") == "a@b.example"
    assert unescape("<http://x.example|the deck>") == "the deck"
    assert unescape("<https://x.example/p?q=1>") == "https://x.example/p?q=1"
    assert unescape("<#C123|sales>") == "#sales"
    assert unescape("<!here>") == "@here"
    assert unescape("<!subteam^S1|@sales-team>") == "@sales-team"
    assert unescape("A &amp; B &lt;3 &gt; x") == "A & B <3 > x"
    assert unescape("#12 stays") == "#12 stays"


def _limits_hold(blocks: list[dict], max_blocks: int = 50) -> None:
    assert len(blocks) <= max_blocks
    action_ids = []
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
            elements = [block["accessory"]] if "accessory" in block else []
        elif block["type"] == "actions":
            elements = block["elements"]
            assert len(elements) <= 25
        else:
            elements = []
        for element in elements:
            action_ids.append(element["action_id"])
            if element["type"] == "button":
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000
            else:
                assert 2 <= len(element["options"]) <= 5
                assert all(len(o["value"]) <= 150 for o in element["options"])
    assert len(action_ids) == len(set(action_ids))  # unique within the message


def test_big_task_list_fits_with_menus_and_a_note():
    items = [Item(f"#{n} call back about the renewal", [Button("Done", f"done #{n}"),
                                                        Button("Snooze", f"snooze #{n}", form="snooze")])
             for n in range(200)]
    blocks = kit.reply_blocks(Reply(text="200 open follow-ups", items=items))
    _limits_hold(blocks)
    assert blocks[-1]["type"] == "context" and "not shown" in blocks[-1]["elements"][0]["text"]
    menu = blocks[1]["accessory"]
    assert menu["type"] == "overflow"
    assert kit.parse_menu_value(menu["options"][1]["value"]) == ("snooze", "snooze #0")


def test_few_items_keep_real_buttons():
    items = [Item("#1 call", [Button("Done", "done #1", style="primary"), Button("Snooze", "snooze #1", form="snooze")])]
    blocks = kit.reply_blocks(Reply(text="1 open follow-up", items=items))
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert actions[0] == {"type": "button", "text": {"type": "plain_text", "text": "Done", "emoji": True},
                          "action_id": "crm_cmd:1", "value": "done #1", "style": "primary"}
    assert actions[1]["action_id"] == "crm_form:snooze:2"


def test_long_text_is_split_and_markup_escaped():
    reply = Reply(text="<script> & " + "word " * 2000)
    blocks = kit.reply_blocks(reply)
    assert len(blocks) >= 4
    assert blocks[0]["text"]["text"].startswith("&lt;script&gt; &amp; ")
    assert "".join(b["text"]["text"] for b in blocks).count("word") == 2000


def test_many_fields_are_split_into_sections_of_ten():
    reply = Reply(text="Card", fields=[(f"F{n}", "v" * 3000) for n in range(25)])
    blocks = kit.reply_blocks(reply)
    _limits_hold(blocks)
    assert [len(b["fields"]) for b in blocks if "fields" in b] == [10, 10, 5]


def test_button_that_cannot_fit_is_left_out_and_confirm_becomes_a_dialog():
    reply = Reply(text="x", buttons=[Button("Huge", "log #1 note " + "x" * 3000),
                                     Button("Erase " * 30, "forget #1 confirm", style="danger", confirm="Sure?")])
    [actions] = [b for b in kit.reply_blocks(reply) if b["type"] == "actions"]
    [erase] = actions["elements"]
    assert len(erase["text"]["text"]) == 75
    assert erase["confirm"]["text"]["text"] == "Sure?" and erase["confirm"]["style"] == "danger"


def test_error_replies_are_marked_and_show_usage():
    text, blocks = kit.render(Reply.fail("That date is in the future.", usage="log <customer> <kind>"))
    assert text.startswith("⚠️")
    assert blocks[-1] == {"type": "context",
                          "elements": [{"type": "mrkdwn", "text": "Usage: `/crm log &lt;customer&gt; &lt;kind&gt;`"}]}


text_st = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4000)


@settings(max_examples=40, deadline=None)
@given(title=text_st, fields=st.lists(st.tuples(st.text(max_size=50), text_st), max_size=30),
       items=st.lists(st.tuples(text_st, st.integers(0, 3)), max_size=80),
       sections=st.lists(st.tuples(st.text(max_size=300), text_st), max_size=10))
def test_any_reply_respects_block_kit_limits(title, fields, items, sections):
    reply = Reply(text=title, fields=fields,
                  items=[Item(t, [Button(f"B{k}", f"done #{k}") for k in range(n)]) for t, n in items],
                  sections=[Section(t, text=x) for t, x in sections])
    _limits_hold(kit.reply_blocks(reply))
    view = kit.home_view([("Follow-ups", reply), ("Quiet", reply)], notice=title)
    _limits_hold(view["blocks"], 100)


def _view(values: dict) -> dict:
    state = {}
    for block, value in values.items():
        if block in ("kind", "choice", "customer"):
            state[block] = {"value": {"type": "static_select", "selected_option": {"value": value}}}
        elif block == "date":
            state[block] = {"value": {"type": "datepicker", "selected_date": value}}
        elif block == "time":
            state[block] = {"value": {"type": "timepicker", "selected_time": value}}
        else:
            state[block] = {"value": {"type": "plain_text_input", "value": value}}
    return {"state": {"values": state}}


def test_modal_values_become_one_command_line():
    assert form_command("log", "log #4", _view({"kind": "email", "date": "2026-11-20", "time": "16:30",
                                                 "summary": "sent it"})) == ("log #4 email 2026-11-20 16:30 sent it", {})
    assert form_command("log", "log #4", _view({"kind": "call", "summary": "they sign friday"}),
                        "2026-11-23 05:00") == ("log #4 call 2026-11-23 05:00 they sign friday", {})
    assert form_command("remind", "remind #4", _view({"when": "明天下午3点", "what": "回电话"})) == (
        "remind #4 明天下午3点 回电话", {})
    assert form_command("remind", "remind #4", _view({"what": "x"}))[1].keys() == {"when"}
    assert form_command("snooze", "snooze #9", _view({"choice": "1h"})) == ("snooze #9 1h", {})
    assert form_command("snooze", "snooze #9", _view({"choice": "custom", "when": "friday"})) == ("snooze #9 friday", {})
    assert form_command("snooze", "snooze #9", _view({"choice": "custom"}))[1].keys() == {"when"}


def test_engine_messages_land_on_the_right_field():
    assert error_block("log", "That date is in the future. To plan a follow-up use `/crm remind`.") == "when"
    assert error_block("log", "“dance” is not a kind I know.") == "kind"
    assert error_block("remind", "Remind about what? Add a few words after the time.") == "what"
    assert error_block("remind", "Mon 1 Nov 09:00 is already past. Pick a time ahead.") == "when"
    assert error_block("shortcut", "No customer matches “#999”.") == "customer"


def test_manifest_matches_what_the_adapter_listens_for():
    from pathlib import Path

    manifest = (Path(__file__).resolve().parents[1] / "slack-manifest.yml").read_text()
    lines = {line.strip() for line in manifest.splitlines()}
    assert "- command: /crm" in lines and "should_escape: true" in lines
    assert "callback_id: log_to_crm" in lines  # the shortcut the adapter registers
    assert "home_tab_enabled: true" in lines
    for event in ("app_home_opened", "message.channels", "message.groups", "message.im"):
        assert f"- {event}" in lines
    for scope in ("commands", "chat:write", "im:write", "users:read", "users:read.email", "files:write"):
        assert f"- {scope}" in lines
    assert manifest.count("https://YOUR-HOST/slack/events") == 4  # command, events, interactivity, menus
    assert "socket_mode_enabled: false" in lines
