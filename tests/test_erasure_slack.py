"""Erasure reaches Slack: after `/forgetme` or `/crm forget`, what the bot relayed into the customer's
ticket threads (the root card, the customer's messages, the bot's notes) is deleted with chat.delete.

The deletions are a job in the inbox outbox, claimed like every other send (a restart loses nothing,
nothing is deleted twice). Where Slack refuses (a message too old for the bot, a missing scope) a short
note in the thread asks an admin to remove the rest. The remote API is tests/fakes/slack_api.py, which
keeps the bot's posts and answers chat.delete as Slack does (https://api.slack.com/methods/chat.delete).
"""
from __future__ import annotations

import json
import time

from sqlmodel import select

from crm.models import Customer, InboxOutbox
from crm.privacy import forget_customer
from tests.telegram_support import eventually
from tests.test_telegram_inbox import staff_says, ticket_of

CHAT = 7501
SECRETS = ("SECRETOTTER", "SECRETBADGER", "Meiling", "Quokkason")


def _conversation(inbox):
    inbox.say(CHAT, "SECRETOTTER my flat is 12 Elm Street", first_name="Meiling", last_name="Quokkason")
    inbox.say(CHAT, "SECRETBADGER and please call me back", first_name="Meiling", last_name="Quokkason")
    inbox.settle()
    ticket = ticket_of(inbox, CHAT)
    staff_says(inbox, ticket, "we are on it", user="UALICE", event_id="EvE1")
    inbox.settle()
    posted = inbox.slack.thread_messages(ticket.slack_channel, ticket.slack_thread_ts)
    text = json.dumps(posted, ensure_ascii=False)
    assert ticket.slack_thread_ts in posted and len(posted) >= 2, posted  # the card (1st message), the 2nd
    assert "SECRETOTTER" in text and "SECRETBADGER" in text and "Meiling" in text
    return ticket, posted


def _left(inbox, ticket) -> str:
    return json.dumps(inbox.slack.thread_messages(ticket.slack_channel, ticket.slack_thread_ts), ensure_ascii=False)


def _deleted(inbox) -> list[str]:
    return [c.params["ts"] for c in inbox.slack.calls_to("chat.delete") if c.ok]


def test_forgetme_deletes_the_relayed_messages_and_the_card_once(inbox, team):
    ticket, posted = _conversation(inbox)
    inbox.say(CHAT, "/forgetme confirm", first_name="Meiling", last_name="Quokkason")
    inbox.settle()
    eventually(lambda: set(posted) <= set(_deleted(inbox)), timeout=10,
               message=f"not deleted: {set(posted) - set(_deleted(inbox))}")
    left = _left(inbox, ticket)
    assert not any(secret in left for secret in SECRETS), left
    assert ticket.slack_thread_ts not in inbox.slack.thread_messages(ticket.slack_channel, ticket.slack_thread_ts)
    assert all(c.params["channel"] == ticket.slack_channel for c in inbox.slack.calls_to("chat.delete"))
    # nothing is deleted twice: another round, or a new process on the same store, finds the job done
    calls = len(inbox.slack.calls_to("chat.delete"))
    inbox.restart()
    inbox.adapter.wake()
    inbox.settle()
    time.sleep(0.5)
    assert len(inbox.slack.calls_to("chat.delete")) == calls
    assert sorted(_deleted(inbox)) == sorted(set(_deleted(inbox)))
    with inbox.db.session() as s:  # the job keeps ids only, never the customer's words
        jobs = s.exec(select(InboxOutbox).where(InboxOutbox.kind == "erase")).all()
    assert [j.status for j in jobs] == ["sent"]
    assert not any(secret in jobs[0].payload for secret in SECRETS)


def test_a_refused_delete_leaves_a_note_for_an_admin(inbox, team):
    ticket, posted = _conversation(inbox)
    inbox.slack.fail_next("chat.delete", error="cant_delete_message")  # too old for the bot to delete
    posts = len(inbox.slack.calls_to("chat.postMessage"))
    answer = inbox.slack_bot.ask("forget #%d confirm" % inbox.customer(CHAT).id, user="UADA")
    assert "Erased" in str(answer)
    inbox.settle()
    notes = eventually(lambda: [c for c in inbox.slack.calls_to("chat.postMessage")[posts:]
                                if c.params.get("thread_ts") == ticket.slack_thread_ts], timeout=10)
    [note] = notes
    assert "admin" in note.params["text"] and "erased" in note.params["text"].lower()
    assert not any(secret in json.dumps(note.params, ensure_ascii=False) for secret in SECRETS)
    # every message was tried once, the refused one is not retried, and the rest went
    tried = [c.params["ts"] for c in inbox.slack.calls_to("chat.delete")]
    assert sorted(tried) == sorted(posted)
    assert len(_deleted(inbox)) == len(posted) - 1


def test_a_failing_slack_only_delays_the_deletion(inbox, team):
    ticket, posted = _conversation(inbox)
    inbox.slack.fail_next("chat.delete", error="internal_error")  # Slack's trouble, not a refusal
    inbox.say(CHAT, "/forgetme confirm", first_name="Meiling", last_name="Quokkason")
    inbox.settle(timeout=30)
    eventually(lambda: set(posted) <= set(_deleted(inbox)), timeout=10)
    assert not any(secret in _left(inbox, ticket) for secret in SECRETS)
    assert not [c for c in inbox.slack.calls_to("chat.postMessage") if "admin" in str(c.params.get("text"))]


def test_the_deletion_job_waits_in_the_store_while_no_process_runs(inbox, team, db):
    ticket, posted = _conversation(inbox)
    inbox.stop()
    with db.write_session() as s:  # erased by another tool (or a process killed right after the commit)
        forget_customer(s, s.get(Customer, inbox.customer(CHAT).id), actor=None, platform="cli")
    assert not _deleted(inbox)
    inbox.start()
    inbox.adapter.wake()
    inbox.settle()
    eventually(lambda: set(posted) <= set(_deleted(inbox)), timeout=10)
    assert not any(secret in _left(inbox, ticket) for secret in SECRETS)


def test_files_the_customer_sent_are_left_to_an_admin_and_said_so(inbox, team):
    from tests.test_live_conversation import telegram_payload

    ticket, posted = _conversation(inbox)
    inbox.fake.add_file("AgACAgIAAxkBAAIBZ2VX-large", b"JPEGDATA" * 100, path="photos/file_7.jpg")
    inbox.send(telegram_payload("photo_caption", chat_id=CHAT))
    inbox.slack.wait_for("files.completeUploadExternal")
    inbox.settle()
    inbox.say(CHAT, "/forgetme confirm", first_name="Meiling", last_name="Quokkason")
    inbox.settle()
    [note] = eventually(lambda: [c for c in inbox.slack.calls_to("chat.postMessage")
                                 if "admin" in str(c.params.get("text"))], timeout=10)
    assert note.params["thread_ts"] == ticket.slack_thread_ts and "Files the customer sent" in note.params["text"]
    assert not any(secret in _left(inbox, ticket) for secret in SECRETS)
