"""The live conversation with recorded real payloads (tests/payloads), through the running server.

Both adapters run in one `crm-bot run` app on loopback against the Slack and Telegram stand-ins.
Slack payloads are the recorded Events API bodies with their ids pointed at the test's ticket
thread; Telegram payloads are recorded updates with the test customer's chat id.
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from crm.models import ProcessedEvent, RelayedMessage, Ticket
from tests.fakes.slack_api import FakeSlackApi
from tests.slack_harness import all_text, buttons, rich_text
from tests.telegram_support import TelegramBot, eventually, telegram_settings

PAYLOADS = Path(__file__).parent / "payloads"
ANN = 7101
_ids = itertools.count(1)


# ---------------------------------------------------------------- recorded payloads

def slack_payload(name: str) -> dict:
    body = json.loads((PAYLOADS / "slack" / f"{name}.json").read_text())
    body.pop("_source")
    body["event_id"] = f"Ev{name[:10]}{next(_ids):06d}"
    # from the workspace the app is installed in (the stand-in's auth.test), not the recording's
    body["team_id"] = FakeSlackApi.TEAM_ID
    body.pop("enterprise_id", None)
    for authorization in body.get("authorizations") or []:
        authorization.update(team_id=FakeSlackApi.TEAM_ID, enterprise_id=None, user_id=FakeSlackApi.BOT_USER_ID)
    return body


def telegram_payload(name: str, chat_id: int = ANN) -> dict:
    update = json.loads((PAYLOADS / "telegram" / f"{name}.json").read_text())
    update.pop("_source")
    update["update_id"] = 800_000 + next(_ids)
    for key in ("message", "edited_message"):
        message = update.get(key)
        if message:
            if "chat" in message:
                message["chat"]["id"] = chat_id
            message["from"]["id"] = chat_id
            if message.get("reply_to_message"):
                message["reply_to_message"]["chat"]["id"] = chat_id
    return update


def post_event(inbox, body: dict):
    response = inbox.slack_bot.post(json.dumps(body), "application/json")
    return response


def in_thread(body: dict, ticket: Ticket, *, user: str = "UALICE", ts: str | None = None) -> dict:
    """The recorded event, happening in the ticket's thread and written by ``user``."""
    event = body["event"]
    event["channel"] = ticket.slack_channel
    ts = ts or f"{time.time():.6f}"
    subtype = event.get("subtype")
    if subtype == "message_changed":
        event["message"].update(user=user, ts=ts, thread_ts=ticket.slack_thread_ts)
        event["previous_message"].update(user=user, ts=ts, thread_ts=ticket.slack_thread_ts)
    elif subtype == "message_deleted":
        event["deleted_ts"] = ts
        event["previous_message"].update(user=user, ts=ts, thread_ts=ticket.slack_thread_ts)
    else:
        event.update(user=user, ts=ts, event_ts=ts, thread_ts=ticket.slack_thread_ts)
    return body


def claimed(inbox, event_id: str, timeout: float = 15) -> None:
    def done():
        with inbox.db.session() as s:
            return s.exec(select(ProcessedEvent).where(ProcessedEvent.platform == "inbox",
                                                       ProcessedEvent.event_id == f"slack:{event_id}")).first()
    eventually(done, timeout, f"the inbox never took Slack event {event_id}")


def open_ticket(inbox, text: str = "hello, I need help") -> Ticket:
    inbox.say(ANN, text)
    inbox.settle()
    customer = inbox.customer(ANN)
    ticket = eventually(lambda: (t := inbox.tickets(customer.id)[-1]).slack_thread_ts and t)
    return ticket


def thread_posts(inbox, ticket: Ticket) -> list:
    return [c for c in inbox.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == ticket.slack_thread_ts]


# ---------------------------------------------------------------- every event gets its 200

def test_every_recorded_slack_payload_is_acknowledged_never_404(inbox):
    for path in sorted((PAYLOADS / "slack").glob("*.json")):
        body = slack_payload(path.stem)
        response = post_event(inbox, body)
        assert response.status_code == 200, (path.name, response.status_code, response.text)


def test_manifest_subscribes_to_what_the_app_handles():
    manifest = (Path(__file__).parent.parent / "slack-manifest.yml").read_text()
    for event in ("app_mention", "member_joined_channel", "message.im", "message.channels"):
        assert f"- {event}" in manifest
    # each event's required scope (https://api.slack.com/events): app_mention needs app_mentions:read,
    # member_joined_channel channels:read / groups:read, message.im im:history; files need files:read
    for scope in ("files:read", "app_mentions:read", "channels:read", "groups:read", "im:history"):
        assert f"- {scope}" in manifest


# ---------------------------------------------------------------- staff → customer

def test_a_reply_with_a_file_reaches_the_customer_as_a_photo_with_its_text_as_caption(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_file_share"), ticket)
    url = body["event"]["files"][0]["url_private_download"]
    inbox.slack.add_file(url, b"\x89PNG fake screenshot")
    assert post_event(inbox, body).status_code == 200
    claimed(inbox, body["event_id"])
    [photo] = inbox.fake.wait_for("sendPhoto", where=lambda c: c.chat_id == ANN)
    assert photo.params["caption"] == "Hi there!"
    assert photo.params["_uploads"]["photo"]["size"] == len(b"\x89PNG fake screenshot")
    # downloaded with the bot token from url_private
    [download] = inbox.slack.calls_to("file")
    assert download.headers["Authorization"] == "Bearer xoxb-test"
    stored = inbox.interactions(inbox.customer(ANN).id, direction="outbound")[-1]
    assert stored.text == "Hi there!\n📎 file.png (image/png, 90.4 KB)"


def test_a_legacy_file_share_document_goes_as_a_document(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("docs_message_file_share_legacy"), ticket)
    inbox.slack.add_file(body["event"]["file"]["url_private_download"], b"hello world!")
    post_event(inbox, body)
    [document] = inbox.fake.wait_for("sendDocument", where=lambda c: c.chat_id == ANN)
    assert document.params["_uploads"]["document"]["filename"] == "test.txt"


def test_a_file_that_cannot_be_fetched_is_reported_in_the_thread_and_the_text_still_goes(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_file_share"), ticket)  # nothing served at its url_private
    post_event(inbox, body)
    [message] = inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and "Hi there!" in c.text)
    note = inbox.slack.wait_for("chat.postMessage", where=lambda c: "file.png" in (c.params.get("text") or "")
                                and "Not sent" in c.params.get("text"))
    assert note[0].params["thread_ts"] == ticket.slack_thread_ts


def test_thread_broadcast_replies_reach_the_customer(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_thread_broadcast"), ticket)
    post_event(inbox, body)
    inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and c.text == "Hi there!")


def test_slack_formatting_reaches_the_customer_as_telegram_html(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_channel_thread_reply"), ticket)
    body["event"]["text"] = ("*today*, _soon_, ~old~ `code` :slightly_smiling_face: <@UMARIA> will call; "
                             "<https://acme.example/faq|our FAQ> <!here>")
    post_event(inbox, body)
    [sent] = inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and "today" in c.text)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.text == ('<b>today</b>, <i>soon</i>, <s>old</s> <code>code</code> 🙂 Maria Manager will call; '
                         '<a href="https://acme.example/faq">our FAQ</a>')


@pytest.mark.store  # relayed_message and the outbox lookups, on PostgreSQL too
def test_an_edited_reply_edits_the_customers_message_and_a_deleted_one_is_deleted(inbox):
    ticket = open_ticket(inbox)
    ts = f"{time.time():.6f}"
    reply = in_thread(slack_payload("message_channel_thread_reply"), ticket, ts=ts)
    reply["event"]["text"] = "The price is $100"
    post_event(inbox, reply)
    [sent] = inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and "$100" in c.text)
    eventually(lambda: inbox.outbox(kind="message", target="telegram")[-1].status == "sent")

    changed = in_thread(slack_payload("message_changed"), ticket, ts=ts)
    changed["event"]["message"]["text"] = "The price is *$90*"
    changed["event"]["previous_message"]["text"] = "The price is $100"
    post_event(inbox, changed)
    [edit] = inbox.fake.wait_for("editMessageText", where=lambda c: c.chat_id == ANN)
    assert edit.params["text"] == "The price is <b>$90</b>"
    [original_id] = [m["message_id"] for (chat, _), m in inbox.fake.messages.items() if chat == ANN
                     and "$90" in m.get("text", "")]
    assert int(edit.params["message_id"]) == original_id
    stored = inbox.interactions(inbox.customer(ANN).id, direction="outbound")[-1]
    assert stored.text.startswith("The price is $90") and "before: The price is $100" in stored.text

    deleted = in_thread(slack_payload("message_deleted"), ticket, ts=ts)
    post_event(inbox, deleted)
    [gone] = inbox.fake.wait_for("deleteMessage", where=lambda c: c.chat_id == ANN)
    assert int(gone.params["message_id"]) == original_id
    assert (ANN, original_id) not in inbox.fake.messages


def test_a_delete_after_48_hours_is_reported_in_the_thread(inbox):
    ticket = open_ticket(inbox)
    ts = f"{time.time():.6f}"
    reply = in_thread(slack_payload("message_channel_thread_reply"), ticket, ts=ts)
    post_event(inbox, reply)
    inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and c.text == "When Slack was released?")
    eventually(lambda: inbox.outbox(kind="message", target="telegram")[-1].status == "sent")
    with inbox.db.write_session() as s:
        for link in s.exec(select(RelayedMessage)).all():
            link.created_at = link.created_at - timedelta(hours=49)
            s.add(link)
    post_event(inbox, in_thread(slack_payload("message_deleted"), ticket, ts=ts))
    inbox.slack.wait_for("chat.postMessage", where=lambda c: "48" in (c.params.get("text") or ""))
    assert inbox.fake.calls_to("deleteMessage") == []


# ---------------------------------------------------------------- customer → staff

def test_a_customers_photo_is_uploaded_into_the_thread_with_its_caption(inbox):
    ticket = open_ticket(inbox)
    update = telegram_payload("photo_caption")
    inbox.fake.add_file("AgACAgIAAxkBAAIBZ2VX-large", b"JPEGDATA" * 100, path="photos/file_7.jpg")
    inbox.send(update)
    complete = inbox.slack.wait_for("files.completeUploadExternal")[0].params
    assert complete["channel_id"] == ticket.slack_channel and complete["thread_ts"] == ticket.slack_thread_ts
    [uploaded] = inbox.slack.calls_to("upload")
    assert uploaded.params["size"] == 800
    # the largest size was fetched through getFile and the file URL
    assert inbox.fake.calls_to("getFile")[0].params["file_id"] == "AgACAgIAAxkBAAIBZ2VX-large"
    caption_post = next(c for c in thread_posts(inbox, ticket) if "broken" in rich_text(c.params))
    rich = json.dumps(caption_post.params["blocks"], ensure_ascii=False)
    assert '"text": "*here*", "style": {"bold": true}' in rich
    stored = inbox.interactions(inbox.customer(ANN).id)[-1].text
    assert stored.startswith("[photo] 📎 photo-") and "image/jpeg, 28.5 KB" in stored


def test_a_video_over_20_mb_is_reported_not_fetched(inbox):
    ticket = open_ticket(inbox)
    inbox.send(telegram_payload("video_too_big"))
    note = inbox.slack.wait_for("chat.postMessage", where=lambda c: "20 MB" in (c.params.get("text") or ""))
    assert note[0].params["thread_ts"] == ticket.slack_thread_ts
    assert "45.8 MB" in note[0].params["text"]
    assert inbox.fake.calls_to("getFile") == [] and inbox.slack.calls_to("files.completeUploadExternal") == []


@pytest.mark.parametrize("name, label, filename", [("voice", "voice message", "voice.ogg"),
                                                   ("document", "document", "telegram.png"),
                                                   ("animation_gif", "animation", "game.gif.webm"),
                                                   ("video", "video", "telegram.mp4")])
def test_voice_documents_gifs_and_videos_are_uploaded(inbox, name, label, filename):
    open_ticket(inbox)
    update = telegram_payload(name)
    kind = next(k for k in ("voice", "document", "animation", "video") if k in update["message"])
    inbox.fake.add_file(update["message"][kind]["file_id"], b"media-bytes", path=f"{kind}/file_1")
    inbox.send(update)
    complete = inbox.slack.wait_for("files.completeUploadExternal")[0].params
    assert complete["files"][0]["title"] == filename
    stored = inbox.interactions(inbox.customer(ANN).id)[-1].text
    assert stored.startswith(f"[{label}] 📎 {filename}")


def test_a_forwarded_start_is_a_message_marked_forwarded_not_a_command(inbox):
    open_ticket(inbox)
    inbox.send(telegram_payload("forward_origin_hidden_user"))
    inbox.settle()
    stored = inbox.interactions(inbox.customer(ANN).id)[-1].text
    assert stored == "↪️ Forwarded from PTB\n/start"
    inbox.send(telegram_payload("forward_legacy_fields"))
    inbox.settle()
    assert inbox.interactions(inbox.customer(ANN).id)[-1].text == "↪️ Forwarded from Old Friend\n/help"
    sent = [c.text for c in inbox.fake.calls_to("sendMessage", chat_id=ANN)]
    assert not any("support chat" in t or "/status" in t for t in sent), sent  # neither welcome nor help ran
    inbox.send(telegram_payload("forward_origin_channel"))
    inbox.settle()
    assert inbox.interactions(inbox.customer(ANN).id)[-1].text.startswith(
        "↪️ Forwarded from Acme News (@acme_news), PTB")


def test_a_reply_shows_what_it_replies_to_and_a_venue_its_name_and_address(inbox):
    ticket = open_ticket(inbox)
    inbox.send(telegram_payload("reply_to_message"))
    inbox.send(telegram_payload("venue"))
    inbox.settle()
    texts = [json.dumps(c.params.get("blocks"), ensure_ascii=False) for c in thread_posts(inbox, ticket)]
    assert any("Replying to our message: “ships on Friday”" in t for t in texts)
    assert any("Acme Store Paulista, Av. Paulista 1000, São Paulo" in t for t in texts)


def test_customer_text_cannot_ping_or_link_in_slack(inbox):
    ticket = open_ticket(inbox)
    inbox.send(telegram_payload("text_entities"))
    inbox.settle()
    post = thread_posts(inbox, ticket)[-1].params
    assert "<!channel>" not in post["text"] and "&lt;!channel&gt;" in post["text"]
    [block] = post["blocks"]
    assert block["type"] == "rich_text"


@pytest.mark.store
def test_a_customers_edit_updates_the_relayed_slack_message_marked_edited(inbox):
    ticket = open_ticket(inbox)
    inbox.send(telegram_payload("reply_to_message"))
    inbox.settle()
    with inbox.db.session() as s:
        link = s.exec(select(RelayedMessage).where(RelayedMessage.direction == "inbound")
                      .order_by(RelayedMessage.id.desc())).first()
    edited = telegram_payload("edited_message")
    edited["edited_message"]["message_id"] = 113  # the message_id of reply_to_message.json
    inbox.send(edited)
    [update] = inbox.slack.wait_for("chat.update")
    assert link.telegram_message_id == 113 and update.params["ts"] == link.slack_ts
    assert "(edited)" in update.params["text"] and "Wednesday" in update.params["text"]


def test_an_update_ptb_cannot_parse_is_acknowledged_logged_and_counted(inbox, caplog):
    from integrations.telegram.updates import UNPARSEABLE

    before = UNPARSEABLE["message"]
    with caplog.at_level(logging.WARNING, logger="crm.telegram"):
        response = inbox.post(telegram_payload("unparseable_message"))
    assert response.status_code == 200
    assert UNPARSEABLE["message"] == before + 1
    [record] = [r for r in caplog.records if "cannot parse" in r.getMessage()]
    assert "(message)" in record.getMessage() and "is anyone there" not in record.getMessage()


# ---------------------------------------------------------------- DMs and mentions

def test_a_staff_dm_runs_as_a_command_answered_in_the_dm_with_buttons(inbox):
    body = slack_payload("docs_message_im")
    body["event"].update(user="UALICE", text="show globex", channel="DALICE")
    assert post_event(inbox, body).status_code == 200
    [answer] = inbox.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "DALICE")
    assert "Globex Corporation" in all_text(answer.params)
    # its buttons work: "Log interaction" opens the log form for that customer
    sent = inbox.slack_bot.click(buttons(answer.params["blocks"])["Log interaction"])
    assert sent.status == 200
    assert inbox.slack_bot.opened_view()["callback_id"] == "crm_form_log"
    body2 = slack_payload("docs_message_im")
    body2["event"].update(user="UALICE", text="/crm find globex", channel="DALICE", ts="1355517524.000001")
    post_event(inbox, body2)
    inbox.slack.wait_for("chat.postMessage", 2, where=lambda c: c.params.get("channel") == "DALICE")


def test_a_stranger_in_the_dm_gets_the_polite_refusal(inbox):
    body = slack_payload("docs_message_im")
    body["event"].update(user="USTRANGER", text="show globex", channel="DSTRANGER")
    post_event(inbox, body)
    [answer] = inbox.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "DSTRANGER")
    assert "don't know you" in all_text(answer.params) and "Globex" not in all_text(answer.params)


def test_a_mention_answers_in_a_thread(inbox):
    body = slack_payload("docs_app_mention")
    body["event"].update(user="UALICE", text="<@UCRMBOT> find globex")
    post_event(inbox, body)
    [answer] = inbox.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "C123ABC456")
    assert answer.params["thread_ts"] == body["event"]["ts"]
    assert "Globex" in all_text(answer.params)


def test_files_are_in_crm_show_and_the_privacy_export(inbox, team):
    from tests.helpers import say

    open_ticket(inbox)
    update = telegram_payload("document")
    inbox.fake.add_file(update["message"]["document"]["file_id"], b"png", path="documents/file_3.png")
    inbox.send(update)
    customer = inbox.customer(ANN)
    card = say(inbox.app.engine, "UADA", f"/crm show #{customer.id}")
    assert "📎 telegram.png (image/png, 12.6 KB)" in card.plain_text()
    export = say(inbox.app.engine, "UADA", f"/crm export #{customer.id}")
    data = json.loads(Path(export.file_path).read_text())
    assert any("📎 telegram.png (image/png, 12.6 KB)" in i["text"] for i in data["interactions"])


def test_editing_the_text_of_a_reply_with_a_file_edits_the_caption(inbox):
    ticket = open_ticket(inbox)
    ts = f"{time.time():.6f}"
    body = in_thread(slack_payload("message_file_share"), ticket, ts=ts)
    inbox.slack.add_file(body["event"]["files"][0]["url_private_download"], b"\x89PNG")
    post_event(inbox, body)
    inbox.fake.wait_for("sendPhoto", where=lambda c: c.chat_id == ANN)
    eventually(lambda: inbox.outbox(kind="message", target="telegram")[-1].status == "sent")
    changed = in_thread(slack_payload("message_changed"), ticket, ts=ts)
    changed["event"]["message"].update(text="Here is the _right_ screenshot", files=body["event"]["files"])
    changed["event"]["previous_message"].update(text="Hi there!", files=body["event"]["files"])
    post_event(inbox, changed)
    [edit] = inbox.fake.wait_for("editMessageCaption", where=lambda c: c.chat_id == ANN)
    assert edit.params["caption"] == "Here is the <i>right</i> screenshot"


def test_polling_survives_an_update_ptb_cannot_parse(db, settings, clock, telegram_api, team):
    from integrations.telegram.updates import UNPARSEABLE

    bot = TelegramBot(db, telegram_settings(settings, telegram_api, webhook=False), clock, telegram_api)
    try:
        before = UNPARSEABLE["message"]
        broken = telegram_payload("unparseable_message")
        fine = telegram_payload("voice")
        telegram_api.push(broken, fine)
        eventually(lambda: bot.interactions(), message="the update after the broken one was never stored")
        eventually(lambda: telegram_api.acked_offset > fine["update_id"] or telegram_api.pending_updates() == [],
                   message="the batch was never acknowledged")
        assert UNPARSEABLE["message"] == before + 1
    finally:
        bot.close()


def test_our_own_uploads_and_edits_in_the_thread_never_echo_to_the_customer(inbox):
    ticket = open_ticket(inbox)
    own_file = in_thread(slack_payload("message_file_share"), ticket, user=FakeSlackApi.BOT_USER_ID)
    inbox.slack.add_file(own_file["event"]["files"][0]["url_private_download"], b"\x89PNG")
    own_edit = in_thread(slack_payload("message_changed"), ticket, user="UALICE")
    own_edit["event"]["message"]["bot_id"] = FakeSlackApi.BOT_ID
    for body in (own_file, own_edit):
        assert post_event(inbox, body).status_code == 200
    staff = in_thread(slack_payload("message_channel_thread_reply"), ticket)  # then a real reply, to sync on
    post_event(inbox, staff)
    inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and c.text == "When Slack was released?")
    assert inbox.fake.calls_to("sendPhoto") == [] and inbox.fake.calls_to("editMessageText") == []


def test_a_reply_sharing_another_message_quotes_it_for_the_customer(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_channel_thread_reply"), ticket)
    body["event"]["text"] = "Our policy:"
    # a shared message, as Slack attaches it (https://api.slack.com/reference/messaging/attachments)
    body["event"]["attachments"] = [{"ts": "1700000000.000100", "channel_id": "C0POLICY", "channel_name": "policy",
                                     "is_msg_unfurl": True, "is_share": True, "id": 1,
                                     "original_url": "https://fake.slack.com/archives/C0POLICY/p1700000000000100",
                                     "fallback": "[November 14th] Maria: Refunds within *30 days*",
                                     "text": "Refunds within *30 days*", "author_id": "UMARIA",
                                     "author_name": "Maria Manager", "mrkdwn_in": ["text"],
                                     "footer": "Posted in #policy"}]
    post_event(inbox, body)
    [sent] = inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and "policy" in c.text)
    assert sent.text == ("Our policy:\n<blockquote><b>Maria Manager:</b>\nRefunds within <b>30 days</b>"
                         "</blockquote>")


def test_a_first_message_with_a_photo_opens_the_thread_and_the_photo_follows_the_card(inbox):
    update = telegram_payload("photo_caption")
    inbox.fake.add_file("AgACAgIAAxkBAAIBZ2VX-large", b"JPEG", path="photos/file_9.jpg")
    inbox.send(update)
    complete = inbox.slack.wait_for("files.completeUploadExternal")[0].params
    ticket = inbox.tickets(inbox.customer(ANN).id)[-1]
    assert complete["thread_ts"] == ticket.slack_thread_ts
    card = inbox.slack.calls_to("chat.postMessage")[0].params
    assert "thread_ts" not in card and "The screen is broken" in all_text(card)


def test_an_upload_slack_refuses_is_reported_once_and_the_message_is_not_repeated(inbox):
    ticket = open_ticket(inbox)
    update = telegram_payload("voice")
    inbox.fake.add_file(update["message"]["voice"]["file_id"], b"OggS", path="voice/file_2.oga")
    inbox.slack.fail_next("files.completeUploadExternal", error="not_in_channel")
    inbox.send(update)
    inbox.settle()
    notes = [c for c in thread_posts(inbox, ticket) if "could not be uploaded" in (c.params.get("text") or "")]
    assert len(notes) == 1 and "voice.ogg" in notes[0].params["text"]
    relayed = [c for c in thread_posts(inbox, ticket) if "voice message" in rich_text(c.params)]
    assert len(relayed) == 1


def test_a_very_long_formatted_reply_reaches_the_customer_whole_in_several_messages(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_channel_thread_reply"), ticket)
    body["event"]["text"] = "*Terms*\n```" + "\n".join(f"line {n} of the contract" for n in range(400)) + "```"
    post_event(inbox, body)
    sent = inbox.fake.wait_for("sendMessage", 2, where=lambda c: c.chat_id == ANN and "line" in c.text)
    eventually(lambda: inbox.outbox(kind="message", target="telegram")[-1].status == "sent")
    texts = [c.text for c in inbox.fake.calls_to("sendMessage", chat_id=ANN) if "line" in c.text]
    joined = "\n".join(texts)
    assert "line 0 of the contract" in joined and "line 399 of the contract" in joined
    assert all(len(t) <= 4096 for t in texts)


def test_an_external_file_is_reported_and_never_fetched_with_the_bot_token(inbox):
    ticket = open_ticket(inbox)
    body = in_thread(slack_payload("message_file_share"), ticket)
    body["event"]["files"][0].update(is_external=True, mode="external", external_type="gdrive",
                                     url_private="https://docs.google.com/document/d/1abc",
                                     url_private_download=None)
    post_event(inbox, body)
    inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and c.text == "Hi there!")
    inbox.slack.wait_for("chat.postMessage", where=lambda c: "external file" in (c.params.get("text") or ""))
    assert inbox.slack.calls_to("file") == []


def test_the_recorded_bolt_mention_is_answered_in_its_thread(inbox):
    body = slack_payload("app_mention")  # "<@W111> Hi there!" from W222, as bolt-python records it
    body["event"]["user"] = "UALICE"
    body["event"]["text"] = "<@W111> find globex"
    post_event(inbox, body)
    [answer] = inbox.slack.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts") == "1595926230.009600")
    assert "Globex" in all_text(answer.params)


def test_a_shared_location_is_a_map_link_in_the_thread(inbox):
    ticket = open_ticket(inbox)
    inbox.send(telegram_payload("location"))
    inbox.settle()
    post = thread_posts(inbox, ticket)[-1].params
    links = [e for s in post["blocks"][0]["elements"] for e in s["elements"] if e["type"] == "link"]
    assert links and links[0]["url"].startswith("https://www.openstreetmap.org/?mlat=51.50735&mlon=-0.12776")
    assert inbox.interactions(inbox.customer(ANN).id)[-1].text == "[location 51.50735,-0.12776]"


def test_an_erased_customer_leaves_no_relayed_message_ids(inbox, team):
    from tests.helpers import say

    ticket = open_ticket(inbox)
    inbox.send(telegram_payload("reply_to_message"))
    reply = in_thread(slack_payload("message_channel_thread_reply"), ticket)
    post_event(inbox, reply)
    inbox.fake.wait_for("sendMessage", where=lambda c: c.chat_id == ANN and c.text == "When Slack was released?")
    inbox.settle()
    with inbox.db.session() as s:
        assert {r.direction for r in s.exec(select(RelayedMessage)).all()} == {"inbound", "outbound"}
    customer = inbox.customer(ANN)
    say(inbox.app.engine, "UADA", f"/crm forget #{customer.id}")
    say(inbox.app.engine, "UADA", f"/crm forget #{customer.id} confirm")
    with inbox.db.session() as s:
        assert s.exec(select(RelayedMessage)).all() == []
