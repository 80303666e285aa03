"""No customer message content reaches our logs through the libraries' own loggers, at any level.

python-telegram-bot logs the whole raw getUpdates batch at CRITICAL when it cannot parse one
update ("Error while parsing updates! Received data was %r", telegram/_bot.py), and at DEBUG every
Bot API call's parameters and result; slack_sdk logs every Web API request and response body at
DEBUG (slack_sdk/web/async_internal_utils.py), Bolt an unhandled request's (filtered) body at
WARNING. The CLI logs at LOG_LEVEL (WARNING unless set; DEBUG is allowed), so the handlers' filter
(bot/logs.py) replaces payload dumps in third-party records by their ids and kinds.

Each test captures the root handler's output exactly as `crm-bot run` writes it (the redacting
filter on the handler, the root at DEBUG) and looks for the customer's words and name.
"""
from __future__ import annotations

import io
import logging

import pytest

from bot.logs import RedactingFilter, redact_payloads
from tests.slack_harness import SlackBot
from tests.telegram_support import TelegramBot, eventually, telegram_settings
from tests.test_live_conversation import telegram_payload

CANARIES = ("CANARYWOMBAT", "Zebulon", "Quixotic", "zebq_handle")


@pytest.fixture
def written():
    """What the root handler writes, at DEBUG, through the production filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _broken(update_id: int = 900000117) -> dict:
    update = telegram_payload("unparseable_message")
    update["update_id"] = update_id
    update["message"]["text"] = "CANARYWOMBAT call me at home"
    update["message"]["from"].update(first_name="Zebulon", last_name="Quixotic", username="zebq_handle")
    return update


def _fine(update_id: int) -> dict:
    update = telegram_payload("voice")
    update["update_id"] = update_id
    return update


def _leaks(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    return [c for c in CANARIES if c in text]


def test_polling_an_unparseable_update_logs_its_id_not_its_content(db, settings, clock, telegram_api, team,
                                                                    written):
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, webhook=False), clock, telegram_api)
    try:
        broken, fine = _broken(), _fine(900000118)
        telegram_api.push(broken, fine)
        eventually(lambda: telegram_api.acked_offset > fine["update_id"] or telegram_api.pending_updates() == [],
                   message="the batch was never acknowledged")
        eventually(lambda: "900000117" in written.getvalue(), message="the broken update was not logged at all")
    finally:
        bot.close()
    text = written.getvalue()
    assert "Error while parsing updates" in text  # PTB's own CRITICAL record is there, with its ids
    assert not _leaks(written), [line for line in text.splitlines() if any(c in line for c in CANARIES)][:5]


def test_the_webhook_and_the_slack_relay_log_no_customer_content(db, settings, clock, telegram_api, slack_api,
                                                                  team, written):
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    bot.slack_bot = SlackBot(bot.app, slack_api, bot.port)
    try:
        assert bot.post(_broken(900000217)).status_code == 200
        bot.say(7777, "CANARYWOMBAT my order never came", first_name="Zebulon", last_name="Quixotic",
                username="zebq_handle")
        bot.settle()
        slack_api.wait_for("chat.postMessage", where=lambda c: "CANARYWOMBAT" in str(c.params))
    finally:
        bot.slack_bot.close()
        bot.close()
    text = written.getvalue()
    assert "chat.postMessage" in text or "slack_sdk" in text  # slack_sdk's DEBUG records were written
    assert not _leaks(written), [line for line in text.splitlines() if any(c in line for c in CANARIES)][:5]


@pytest.mark.parametrize("name, message, args", [
    ("telegram.Bot", "Error while parsing updates! Received data was %r",
     ([{"update_id": 5, "message": {"message_id": 9, "text": "CANARYWOMBAT", "chat": {"id": 1}}}],)),
    ("telegram.request.BaseRequest", 'Can not load invalid JSON data: "%s"',
     ('{"ok":true,"result":[{"update_id":6,"message":{"text":"CANARYWOMBAT',)),
    ("slack_sdk.web.async_base_client", "Received the following response - status: 200, body: %s",
     ({"ok": True, "messages": [{"type": "message", "ts": "1.2", "text": "CANARYWOMBAT"}]},)),
    ("slack_bolt.AsyncApp", "Unhandled request ({'type': 'event_callback', 'event': {'text': 'CANARYWOMBAT'}})", ()),
    ("slack.py", "Failed to run listener function (error: {'text': 'CANARYWOMBAT'})", ()),
    ("httpx", "HTTP Request: %s %s", ("POST", "https://api.telegram.org/bot1/sendMessage?text=CANARYWOMBAT")),
])
def test_payload_dumps_of_libraries_become_ids_and_kinds(name, message, args):
    record = logging.LogRecord(name, logging.CRITICAL, __file__, 1, message, args, None)
    RedactingFilter().filter(record)
    assert "CANARYWOMBAT" not in record.getMessage(), record.getMessage()


def test_our_own_records_and_ids_survive():
    record = logging.LogRecord("crm.telegram", logging.WARNING, __file__, 1, "update %s (%s) {kept}", (5, "message"),
                               None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "update 5 (message) {kept}"
    summary = redact_payloads("data was [{'update_id': 900000117, 'message': {'message_id': 117, 'text': 'x'}}]")
    assert "900000117" in summary and "message" in summary and "'x'" not in summary


def test_a_record_filtered_by_two_handlers_keeps_its_placeholders():
    record = logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, "failed for %s", ("4915198765432",), None)
    RedactingFilter().filter(record)
    RedactingFilter().filter(record)
    assert record.getMessage() == "failed for [phone]"
    assert redact_payloads("[phone] [email] [redacted]") == "[phone] [email] [redacted]"
