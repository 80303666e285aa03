"""Plain text updates are read from their JSON directly (CustomerChat.plain_text_message, issue 17), everything
else through python-telegram-bot (plain_message): both readers must give the same Message, and the
processor must store the same rows whichever reader took an update."""
from __future__ import annotations

import copy
import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import Update

from integrations.telegram.customer import CustomerChat

PAYLOADS = Path(__file__).parent / "payloads" / "telegram"
CLOCK = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def recorded() -> dict[str, dict]:
    out = {}
    for path in sorted(PAYLOADS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("_source", None)
        out[path.stem] = data
    return out


def ptb_reading(data: dict):
    """What the processor's python-telegram-bot route makes of an update (None: not a plain message)."""
    chat = CustomerChat(SimpleNamespace(db=None, app=SimpleNamespace(engine=SimpleNamespace(clock=lambda: CLOCK))))
    try:
        update = Update.de_json(copy.deepcopy(data), None)
    except Exception:
        return None  # unparseable: the processor drops it
    if update.effective_chat is None or update.effective_chat.type != "private":
        return None
    return chat.plain_message(update, 7)


def comparable(message) -> dict:
    """A Message as the store sees it (its details go into the outbox as JSON)."""
    out = asdict(message)
    out["details"] = json.loads(json.dumps(message.details, ensure_ascii=False))
    return out


def text_update(text: str = "when does my order ship? 订单什么时候发货？", **message) -> dict:
    person = {"id": 5550001, "is_bot": False, "first_name": "Hank", "language_code": "en"}
    return {"update_id": 900000100, "message": {"message_id": 140, "date": 1700000100, "from": person,
                                                 "chat": {"id": 5550001, "type": "private", "first_name": "Hank"},
                                                 "text": text, **message}}


def variants() -> dict[str, dict]:
    """The recorded updates, and plain text ones bent every way a reader could get wrong."""
    cases = recorded()
    cases["plain"] = text_update()
    cases["plain, user with every name"] = text_update()
    cases["plain, user with every name"]["message"]["from"].update(last_name="S", username="hank", is_premium=True)
    cases["mention markers in the text"] = text_update("hi \ue000U1\ue001Boss\ue002 there")
    cases["emoji and astral characters"] = text_update("👍🏽 𝒜 ok")
    cases["a lone slash is a command"] = text_update("/")
    cases["a command"] = text_update("/status please")
    cases["slash later is text"] = text_update("yes/no?")
    cases["empty text"] = text_update("")
    cases["whitespace text"] = text_update("   ")
    cases["url entity"] = text_update("see http://x.example", entities=[{"offset": 4, "length": 16, "type": "url"}])
    cases["pre with language"] = text_update("x = 1", entities=[{"type": "pre", "offset": 0, "length": 5,
                                                                  "language": "python"}])
    cases["unknown entity type"] = text_update("abc", entities=[{"type": "future_kind", "offset": 0, "length": 3}])
    cases["empty entities"] = text_update("abc", entities=[])
    cases["text_mention entity (a user inside)"] = text_update("Ann", entities=[{
        "type": "text_mention", "offset": 0, "length": 3, "user": {"id": 1, "is_bot": False, "first_name": "A"}}])
    cases["entity with a null url"] = text_update("abc", entities=[{"type": "url", "offset": 0, "length": 3,
                                                                    "url": None}])
    cases["link preview options"] = text_update("http://x.example", link_preview_options={"is_disabled": True})
    cases["group chat"] = text_update()
    cases["group chat"]["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "G"}
    cases["no sender"] = text_update()
    del cases["no sender"]["message"]["from"]
    cases["sender without first name"] = text_update()
    del cases["sender without first name"]["message"]["from"]["first_name"]
    cases["float date"] = text_update()
    cases["float date"]["message"]["date"] = 1700000100.5
    cases["string ids"] = text_update()
    cases["string ids"]["message"]["chat"]["id"] = "5550001"
    cases["text is a number"] = text_update()
    cases["text is a number"]["message"]["text"] = 42
    cases["two kinds in one update"] = {**text_update(), "edited_message": text_update()["message"]}
    cases["edited"] = {"update_id": 900000101, "edited_message": {**text_update()["message"], "edit_date": 1700000200}}
    return cases


CASES = variants()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_plain_reader_reads_what_python_telegram_bot_reads_or_declines(name):
    data = CASES[name]
    plain = CustomerChat.plain_text_message(copy.deepcopy(data), 7)
    if plain is None:
        return  # python-telegram-bot's route reads it (covered by the rest of the suite)
    expected = ptb_reading(data)
    assert expected is not None, f"{name}: read as plain, but the PTB route would not store it as a message"
    assert comparable(plain) == comparable(expected)


def test_the_plain_reader_takes_the_bulk_and_declines_the_rest():
    """The shapes it must take (else nothing is gained) and those it must leave to PTB (else it reads them wrong)."""
    taken = {name for name, data in CASES.items() if CustomerChat.plain_text_message(copy.deepcopy(data), 7)}
    assert {"plain", "plain, user with every name", "mention markers in the text", "emoji and astral characters",
            "slash later is text", "url entity", "pre with language", "unknown entity type", "empty entities",
            "text_entities", "empty text", "whitespace text"} <= taken
    assert taken.isdisjoint({"a lone slash is a command", "a command", "text_mention entity (a user inside)",
                             "entity with a null url", "link preview options", "group chat", "no sender",
                             "sender without first name", "float date", "string ids", "text is a number",
                             "two kinds in one update", "edited", "reply_to_message", "forward_origin_user",
                             "forward_legacy_fields", "via_bot", "photo_caption", "location", "venue",
                             "unparseable_message", "edited_message", "document"})
    message = CustomerChat.plain_text_message(CASES["mention markers in the text"], 7)
    assert message.text == "hi U1Boss there"  # a customer cannot write our mention element
    assert message.details["raw_text"] == "hi \ue000U1\ue001Boss\ue002 there"  # the thread shows what was sent
    assert message.date == datetime.fromtimestamp(1700000100, tz=timezone.utc)


def _stored(inbox, chat_id: int) -> dict:
    customer = inbox.customer(chat_id)
    interactions = inbox.interactions(customer.id)
    ticket = inbox.tickets(customer.id)[-1]
    outbox = inbox.outbox(customer_id=customer.id)

    def payload(row):
        data = json.loads(row.payload)
        if "telegram" in data:
            data["telegram"] = {**data["telegram"], "chat_id": "the chat"}
        data.pop("author", None)
        if "text" in data:  # a purchase-intent note names the customer's record
            data["text"] = data["text"].replace(f"#{customer.id} ", "#the-customer ")
        return data

    return {"interactions": [(i.kind, i.direction, i.text, i.occurred_at, i.source_message_id.split(":")[1])
                             for i in interactions],
            "ticket": (ticket.status, ticket.intent, ticket.sentiment, ticket.urgency, ticket.tags,
                       ticket.last_inbound_at),
            "outbox": [(o.target, o.kind, payload(o)) for o in outbox if o.target == "slack"]}


def test_the_processor_stores_the_same_rows_from_either_reader(inbox, monkeypatch):
    """Twin customers send the same messages; one's are read by the plain reader, the other's by PTB's."""
    texts = ["hello", "when does my order ship? 订单什么时候发货？", "see https://x.example/a please",
             "ok thanks 👍", "我需要发票，急"]
    calls = []
    real = CustomerChat.plain_text_message

    def counted(data, row_id):
        message = real(data, row_id)
        calls.append(message is not None)
        return message

    def updates(chat_id: int) -> list[dict]:
        out = []
        for n, text in enumerate(texts, 1):
            update = inbox.updates.text(chat_id, text, first_name="Twin", message_id=n, date=CLOCK)
            if "https://" in text:
                update["message"]["entities"] = [{"offset": 4, "length": 21, "type": "url"}]
            out.append(update)
        return out

    monkeypatch.setattr(CustomerChat, "plain_text_message", staticmethod(counted))
    for update in updates(66_001):
        inbox.send(update)
    assert len(calls) == len(texts) and all(calls)  # the plain reader read every one (the first, a new chat's, was handed back)
    monkeypatch.setattr(CustomerChat, "plain_text_message", staticmethod(lambda data, row_id: None))
    for update in updates(66_002):
        inbox.send(update)
    first, second = _stored(inbox, 66_001), _stored(inbox, 66_002)
    assert len(first["interactions"]) == len(texts)
    for key in first:
        assert first[key] == second[key], (key, first[key], second[key])
