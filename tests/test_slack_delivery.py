"""What other parts of the bot reach Slack through: DMs (Delivery), the team inbox threads,
thread replies handed to the customer inbox, and Socket Mode."""
from __future__ import annotations

import asyncio
import json
import logging
import time

from sqlmodel import select

from bot.app import App
from bot.replies import Reply
from crm.models import Interaction, Staff
from tests.slack_harness import all_text


def test_dm_with_an_image_uploads_it_to_the_dm(slack_bot, db, team, tmp_path):
    chart = tmp_path / "graph.png"
    chart.write_bytes(b"\x89PNG fake image bytes")
    with db.session() as s:
        bob = s.get(Staff, team.bob)
    asyncio.run(slack_bot.app.delivery.to_staff(bob, Reply(text="你的关系图", image_path=str(chart))))
    post = slack_bot.fake.calls_to("chat.postMessage")[0]
    assert post.params["channel"] == "DBOB" and post.params["text"] == "你的关系图"
    complete = slack_bot.fake.calls_to("files.completeUploadExternal")[0]
    assert complete.params["channel_id"] == "DBOB"
    assert slack_bot.fake.uploads[complete.params["files"][0]["id"]] == chart.read_bytes()


def test_team_inbox_threads_in_the_inbox_channel_or_the_owners_dm(slack_bot):
    inbox = slack_bot.app.engine.ports.team_inbox
    channel, ts = asyncio.run(inbox.open_thread("CINBOX", "UALICE", Reply(text="王伟 wrote on Telegram")))
    assert channel == "CINBOX" and ts
    dm_channel, dm_ts = asyncio.run(inbox.open_thread(None, "UALICE", Reply(text="Li Na wrote")))
    assert dm_channel == "DALICE" and dm_ts != ts
    reply_ts = asyncio.run(inbox.post(channel, ts, Reply(text="Can you send the invoice?")))
    threaded = slack_bot.fake.calls_to("chat.postMessage")[-1]
    assert threaded.params["thread_ts"] == ts and threaded.params["channel"] == "CINBOX"
    assert reply_ts not in (ts, dm_ts)


class RecordingCustomerInbox:
    """Stands in for the Telegram customer inbox (built in parallel) at the interface it registers."""

    def __init__(self):
        self.calls: list[tuple] = []

    async def is_ticket_thread(self, channel, thread_ts) -> bool:
        return True

    async def staff_message(self, message, event_id, html, plain) -> bool:
        self.calls.append((message.channel, message.thread_ts, message.user, plain, event_id))
        return True

    async def staff_edit(self, message, event_id, html, plain) -> None:
        self.calls.append(("edit", message.ts, plain, event_id))


def _message(bot, event_id, retry_num=None, **fields):
    event = {"type": "message", "channel": "CINBOX", "user": "UALICE", "text": "Sure &amp; thanks <@UBOB>",
             "ts": "1700000100.000200", "thread_ts": "1700000001.000100", "channel_type": "channel"}
    event.update(fields)
    return bot.event({k: v for k, v in event.items() if v is not None}, event_id=event_id, retry_num=retry_num)


def test_human_thread_replies_reach_the_customer_inbox_once(slack_bot):
    inbox = RecordingCustomerInbox()
    slack_bot.app.engine.ports.customer_inbox = inbox
    assert _message(slack_bot, "EvREPLY").status == 200
    _message(slack_bot, "EvREPLY", retry_num=1)  # Slack's retry
    _message(slack_bot, "EvBOT", bot_id="B1", user=None)  # the bot's own echo
    _message(slack_bot, "EvEDIT", subtype="message_changed")  # an edit
    _message(slack_bot, "EvTOP", thread_ts=None)  # not in a thread
    _message(slack_bot, "EvLAST", text="second reply", ts="1700000200.000300")
    deadline = time.monotonic() + 10
    while len(inbox.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    # the mention is the colleague's name (the staff directory), as the customer will read it
    assert inbox.calls == [("CINBOX", "1700000001.000100", "UALICE", "Sure & thanks Bob Rep", "EvREPLY"),
                           ("CINBOX", "1700000001.000100", "UALICE", "second reply", "EvLAST")]


def test_messages_are_ignored_quietly_without_a_customer_inbox(slack_bot, db, caplog):
    assert slack_bot.app.engine.ports.customer_inbox is None  # Slack only: no Telegram inbox wired
    seen = len(slack_bot.fake.calls)
    assert _message(slack_bot, "EvNOINBOX").status == 200
    time.sleep(0.3)  # the event is handled after the ack; give it the time a relay would take
    # nothing posted, nobody looked up (Bolt's own auth.test on its first request aside)
    assert [c.method for c in slack_bot.fake.calls[seen:] if c.method != "auth.test"] == []
    with db.session() as s:
        assert s.exec(select(Interaction)).all() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_socket_mode_is_selected_and_answers_over_the_socket(db, settings, clock, team, slack_api):
    settings = settings.model_copy(update={"slack_bot_token": "xoxb-test", "slack_app_token": "xapp-test",
                                           "slack_api_url": slack_api.api_url})
    app = App(settings, db, clock=clock)
    app.configure_adapters()
    [adapter] = app.adapters
    assert adapter.socket_mode and adapter.socket_handler is not None
    assert adapter.routes == []  # no HTTP endpoint to expose
    await app.start()
    try:
        assert await asyncio.to_thread(slack_api.socket_connected)
        response_url = slack_api.response_url("socket1")
        payload = {"token": "x", "team_id": "T0FAKE", "channel_id": "C0SALES", "user_id": "UALICE",
                   "user_name": "alice", "command": "/crm", "text": "show globex", "api_app_id": "A0FAKE",
                   "response_url": response_url, "trigger_id": "trig.socket"}
        slack_api.socket_send({"envelope_id": "env-1", "type": "slash_commands", "payload": payload,
                               "accepts_response_payload": True})
        acks = await asyncio.to_thread(slack_api.wait_for, "socket.ack")
        assert acks[0].params["envelope_id"] == "env-1"
        [answer] = await asyncio.to_thread(slack_api.wait_for, "response")
        assert "Globex Corporation" in all_text(answer.params)
        assert json.dumps(answer.params)  # well-formed
    finally:
        await app.stop()
