"""The two-way inbox: a customer's Telegram chat ⇄ one Slack thread, with the real Slack and Telegram adapters.

Both adapters run in one `crm-bot run` app on loopback; the remote APIs are the stand-ins in
tests/fakes. Slack events and button presses are signed requests, exactly as Slack sends them.
"""
from __future__ import annotations

import asyncio
import time

import pytest

from sqlmodel import select

from crm.models import ProcessedEvent, Ticket
from tests.helpers import say
from tests.slack_harness import all_text, buttons
from tests.telegram_support import TelegramBot, eventually, telegram_settings

ANN = 7001


def thread_posts(inbox, count: int, timeout: float = 15) -> list:
    return inbox.slack.wait_for("chat.postMessage", count, timeout)


def staff_says(inbox, ticket: Ticket, text: str, user: str = "UALICE", event_id: str = "Ev1", retry_num=None):
    event = {"type": "message", "channel": ticket.slack_channel, "user": user, "text": text,
             "ts": f"{time.time():.6f}", "thread_ts": ticket.slack_thread_ts, "channel_type": "channel"}
    sent = inbox.slack_bot.event(event, event_id=event_id, retry_num=retry_num)
    assert sent.status == 200
    wait_until_claimed(inbox, event_id)
    return sent


def wait_until_claimed(inbox, event_id: str, timeout: float = 15) -> None:
    """Slack's event is acknowledged before it is handled: wait until the inbox has taken it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with inbox.db.session() as s:
            if s.exec(select(ProcessedEvent).where(ProcessedEvent.platform == "inbox",
                                                   ProcessedEvent.event_id == f"slack:{event_id}")).first():
                return
        time.sleep(0.02)
    raise AssertionError(f"the inbox never took Slack event {event_id}")


def press(inbox, message: dict, label: str, user: str = "UALICE"):
    sent = inbox.slack_bot.click(buttons(message["blocks"])[label], user=user)
    assert sent.status == 200
    return sent


def ticket_of(inbox, chat_id: int) -> Ticket:
    customer = inbox.customer(chat_id)
    return inbox.tickets(customer.id)[-1]


def test_whole_loop_customer_thread_staff_reply_customer(inbox, team):
    inbox.send(inbox.updates.contact(ANN, "+15550102000", first_name="Hank"))  # binds to Globex (vip, Alice)
    inbox.say(ANN, "Our invoice #42 is wrong & too high <urgent>")
    inbox.settle()
    [card, follow_up] = thread_posts(inbox, 2)[:2]
    assert card.params["channel"] == "C0INBOX" and "thread_ts" not in card.params
    card_text = all_text(card.params)
    for expected in ("Globex Corporation", "vip", "Alice Rep", "[contact] Hank +15550102000"):
        assert expected in card_text, expected
    assert set(buttons(card.params["blocks"])) >= {"Assign to me", "Resolve", "Reopen"}
    ticket = ticket_of(inbox, ANN)
    assert ticket.slack_channel == "C0INBOX" and ticket.slack_thread_ts
    assert follow_up.params["thread_ts"] == ticket.slack_thread_ts
    # Slack shows &amp; and &lt; as & and <: the customer's text arrives intact and inert
    assert "Our invoice #42 is wrong &amp; too high &lt;urgent&gt;" in all_text(follow_up.params)

    # Slack escapes &, < and > in event text; the adapter unescapes it
    staff_says(inbox, ticket, "Sorry about that, Hank &amp; co — fixing &lt;now&gt;", event_id="EvR1")
    inbox.settle()
    delivered = inbox.fake.sent_to(ANN)[-1]
    assert delivered.text == "Sorry about that, Hank &amp; co — fixing &lt;now&gt;"
    assert delivered.params["parse_mode"] == "HTML"
    outbound = inbox.interactions(team.globex, direction="outbound")
    assert [(o.text, o.staff_id, o.source_platform) for o in outbound] == [
        ("Sorry about that, Hank & co — fixing <now>", team.alice, "slack")]
    ticket = ticket_of(inbox, ANN)
    assert ticket.first_response_at is not None and ticket.assignee_id == team.alice


def test_later_messages_follow_in_the_same_thread_across_restarts(inbox):
    inbox.say(ANN, "first")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    inbox.restart()
    inbox.say(ANN, "second, after a restart")
    inbox.settle()
    posts = thread_posts(inbox, 2)
    assert "thread_ts" not in posts[0].params
    assert posts[1].params["thread_ts"] == ticket.slack_thread_ts
    assert "second, after a restart" in all_text(posts[1].params)


def test_unowned_lead_opens_in_admin_dm_without_inbox_channel(db, settings, clock, telegram_api, slack_api, team):
    s = telegram_settings(settings, telegram_api, slack=slack_api).model_copy(update={"slack_inbox_channel": None})
    bot = TelegramBot(db, s, clock, telegram_api, slack=slack_api)
    try:
        bot.say(ANN, "hello")  # a brand-new lead has no owner: Ada (admin) gets it
        bot.send(bot.updates.contact(7002, "+86 138 0000 0001", first_name="王伟", lang="zh-hans"))  # Bob's customer
        bot.settle()
        channels = sorted(c.params["channel"] for c in slack_api.wait_for("chat.postMessage", 2))
        assert channels == ["DADA", "DBOB"]
    finally:
        bot.close()


def test_retried_slack_event_is_sent_to_the_customer_once(inbox, team):
    inbox.say(ANN, "hello")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    staff_says(inbox, ticket, "Hi! How can I help?", event_id="EvONCE")
    staff_says(inbox, ticket, "Hi! How can I help?", event_id="EvONCE", retry_num=1)
    staff_says(inbox, ticket, "Hi! How can I help?", event_id="EvONCE", retry_num=2)
    # and straight through the service, as a second instance would
    service = inbox.app.engine.ports.customer_inbox
    handled = asyncio.run_coroutine_threadsafe(
        service.staff_reply(ticket.slack_channel, ticket.slack_thread_ts, "UALICE", "Hi! How can I help?", "EvONCE"),
        inbox.adapter._loop).result(10)
    assert handled is True
    inbox.settle()
    assert [c.text for c in inbox.fake.sent_to(ANN)] == ["Hi! How can I help?"]
    assert len(inbox.interactions(direction="outbound")) == 1


def test_double_slash_stays_internal(inbox, team):
    inbox.say(ANN, "hello")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    staff_says(inbox, ticket, "// looks like a reseller, check with Maria", event_id="EvNOTE")
    inbox.settle()
    assert inbox.fake.sent_to(ANN) == []
    [note] = inbox.interactions(direction="internal")
    assert note.text == "looks like a reseller, check with Maria" and note.kind == "note"


def test_replies_in_unrelated_threads_are_not_ours(inbox):
    service = inbox.app.engine.ports.customer_inbox
    handled = asyncio.run_coroutine_threadsafe(service.staff_reply("C0SALES", "1.2", "UALICE", "hi", "EvX"),
                                               inbox.adapter._loop).result(10)
    assert handled is False


def test_non_staff_slack_user_cannot_message_customers(inbox):
    inbox.say(ANN, "hello")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    staff_says(inbox, ticket, "I'm a guest in this channel", user="UGUEST", event_id="EvGUEST")
    inbox.settle()
    assert inbox.fake.sent_to(ANN) == []
    assert "is not CRM staff" in all_text(inbox.slack.calls_to("chat.postMessage")[-1].params)


def test_buttons_assign_resolve_rating_reopen(inbox, team):
    inbox.send(inbox.updates.contact(ANN, "+15550102000", first_name="Hank"))
    inbox.settle()
    card = thread_posts(inbox, 1)[0].params
    press(inbox, card, "Assign to me", user="UBOB")
    eventually(lambda: ticket_of(inbox, ANN).assignee_id == team.bob)
    inbox.settle()
    assert "Bob Rep is handling" in all_text(inbox.slack.calls_to("chat.postMessage")[-1].params)

    press(inbox, card, "Resolve", user="UBOB")
    ticket = eventually(lambda: (t := ticket_of(inbox, ANN)).status == "resolved" and t)
    inbox.settle()
    assert ticket.rating_requested_at is not None
    ask = inbox.fake.sent_to(ANN)[-1]
    assert f"request #{ticket.id} has been resolved" in ask.text
    assert ask.button_data() == [f"rate:{ticket.id}:{n}" for n in range(1, 6)]

    inbox.send(inbox.updates.callback(ANN, f"rate:{ticket.id}:4"))
    inbox.send(inbox.updates.callback(ANN, f"rate:{ticket.id}:1"))  # a second tap does not overwrite
    inbox.settle()
    assert ticket_of(inbox, ANN).rating == 4
    assert "rated this conversation 4/5" in " ".join(all_text(c.params) for c in inbox.slack.calls_to("chat.postMessage"))
    assert inbox.fake.calls_to("answerCallbackQuery")

    press(inbox, card, "Reopen", user="UBOB")
    eventually(lambda: ticket_of(inbox, ANN).status == "open")


def test_typed_rating_is_captured_while_pending(inbox, team):
    inbox.say(ANN, "help please")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    say(inbox.app.engine, "UALICE", f"/crm ticket resolve #{ticket.id}")
    inbox.settle()
    inbox.say(ANN, "5")
    inbox.settle()
    customer = inbox.customer(ANN)
    assert [t.rating for t in inbox.tickets(customer.id)] == [5]  # no new ticket for the rating
    assert "Thank you for your rating (5/5)" in inbox.fake.sent_to(ANN)[-1].text
    inbox.say(ANN, "5 more questions though")
    assert len(inbox.tickets(customer.id)) == 2  # a new conversation, a new ticket


def test_ticket_command_bad_input_changes_nothing(inbox, team):
    for line, expected in [("/crm ticket", "assign, resolve or reopen"), ("/crm ticket close #1", "assign, resolve"),
                           ("/crm ticket resolve", "Which ticket"), ("/crm ticket resolve #999", "no ticket #999")]:
        reply = say(inbox.app.engine, "UALICE", line)
        assert reply.error and expected in reply.text, (line, reply.text)


def test_blocked_customer_is_marked_and_the_thread_says_so(inbox, team):
    inbox.say(ANN, "hello")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    inbox.fake.block(ANN)
    staff_says(inbox, ticket, "Are you still there?", event_id="EvBLOCK")
    inbox.settle()
    assert inbox.customer(ANN).telegram_blocked is True
    note = all_text(inbox.slack.calls_to("chat.postMessage")[-1].params)
    assert "blocked the bot; not delivered" in note
    [row] = inbox.outbox(target="telegram", kind="message")
    assert row.status == "failed" and row.attempts == 1  # no retry loop against a blocked chat
    # they unblock and write again: the flag clears
    inbox.fake.unblock(ANN)
    inbox.say(ANN, "sorry, I'm back")
    assert inbox.customer(ANN).telegram_blocked is False


def test_block_update_marks_the_customer(inbox):
    inbox.say(ANN, "hello")
    inbox.send(inbox.updates.blocked(ANN))
    inbox.settle()
    assert inbox.customer(ANN).telegram_blocked is True
    assert "blocked the bot" in all_text(inbox.slack.calls_to("chat.postMessage")[-1].params)


def test_retry_after_from_the_api_is_honoured_and_sent_once(inbox):
    inbox.say(ANN, "hello")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    inbox.fake.fail_next("sendMessage", retry_after=1)
    started = time.monotonic()
    staff_says(inbox, ticket, "answer after a flood wait", event_id="EvFLOOD")
    inbox.settle()
    assert [c.text for c in inbox.fake.sent_to(ANN)] == ["answer after a flood wait"]
    refused = inbox.fake.calls_to("sendMessage", ANN, ok_only=False)
    assert [c.ok for c in refused] == [False, True]
    assert time.monotonic() - started >= 1  # it waited as told
    [row] = inbox.outbox(target="telegram", kind="message")
    assert row.status == "sent"


def test_network_failures_are_retried_then_given_up_and_told(inbox, monkeypatch):
    from datetime import timedelta

    from crm.inbox import outbox

    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(outbox, "retry_delay", lambda attempts: timedelta(0))
    inbox.say(ANN, "hello")
    inbox.settle()
    ticket = ticket_of(inbox, ANN)
    inbox.fake.fail_next("sendMessage", status=502, description="Bad Gateway", times=10)
    staff_says(inbox, ticket, "this will not arrive", event_id="EvDOWN")
    inbox.settle(timeout=30)
    [row] = inbox.outbox(target="telegram", kind="message")
    assert row.status == "failed" and row.attempts == 2
    assert "Not delivered after 2 attempts" in all_text(inbox.slack.calls_to("chat.postMessage")[-1].params)


def test_without_slack_messages_are_stored_and_tickets_opened(telegram_bot):
    telegram_bot.say(ANN, "is anyone reading this?")
    customer = telegram_bot.customer(ANN)
    [ticket] = telegram_bot.tickets(customer.id)
    assert ticket.status == "open" and ticket.slack_thread_ts is None
    assert [i.text for i in telegram_bot.interactions(customer.id)] == ["is anyone reading this?"]
    assert telegram_bot.app.engine.ports.team_inbox is None
    telegram_bot.settle()
    assert telegram_bot.outbox(target="slack") == []


def test_forgetme_leaves_no_relayed_copy_of_the_conversation(inbox, team):
    inbox.say(ANN, "hello, my address is 12 Elm Street")
    inbox.settle()
    customer = inbox.customer(ANN)
    assert any("Elm Street" in row.payload for row in inbox.outbox(customer_id=customer.id))
    inbox.say(ANN, "/forgetme confirm")
    inbox.replies(ANN, 1)
    assert [i.text for i in inbox.interactions(customer.id)] == [""]
    assert inbox.outbox(customer_id=customer.id) == []  # the relay's copies are erased with the rest


@pytest.mark.store
def test_the_relay_takes_each_chats_first_unsent_row_once_across_instances(db, settings):
    from sqlalchemy import update

    from bot.app import App
    from crm.models import InboxOutbox
    from integrations.inbox_relay import InboxRelay

    with db.write_session() as s:
        rows = [InboxOutbox(target="telegram", kind="reply", chat_id=chat, payload='{"text": "hi"}')
                for chat in (501, 501, 502)]
        s.add_all(rows)
        s.flush()
        first_a, second_a, first_b = (r.id for r in rows)
    one = InboxRelay(App(settings, db, instance="one"), None)
    two = InboxRelay(App(settings, db, instance="two"), None)
    everything = [first_a, second_a, first_b]

    taken = one._claim(everything)
    assert sorted(taken) == sorted([first_a, first_b])  # chat 501's second row waits for its first
    assert all(row.status == "sending" and row.claimed_by == "one" for row in taken.values())
    assert two._claim(everything) == {}  # nothing is taken twice
    with db.write_session() as s:
        s.exec(update(InboxOutbox).where(InboxOutbox.id == first_a).values(status="sent"))
    assert list(two._claim(everything)) == [second_a]  # its turn, once the first is out
