"""Tokens and personal data never reach the logs."""
from __future__ import annotations

import io
import logging

from bot.logs import RedactingFilter, redact
from tests.helpers import say


def test_redact_tokens_and_personal_data_but_not_dates_or_ids():
    text = ("POST https://api.telegram.org/bot123456789:AAHabcdefghijklmnopqrstuvwxyz12345/sendMessage "
            "token=xoxb-1234-5678-abcdefgh app xapp-1-A0-123-abc mail ops@globex.example "
            "phone +1 555 010 2000 on 2026-11-23 10:00 id 12000 chat 900000123")
    out = redact(text)
    for secret in ("AAHabcdefghijklmnop", "xoxb-1234", "xapp-1-A0", "ops@globex.example", "555 010 2000"):
        assert secret not in out
    for kept in ("2026-11-23 10:00", "id 12000", "chat 900000123", "sendMessage"):
        assert kept in out


def test_handler_crash_log_is_redacted(engine, team, monkeypatch):
    from bot.registry import COMMANDS

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)
    try:
        def boom(ctx):
            raise RuntimeError("failed for ops@globex.example with xoxb-999-888-secretvalue")

        monkeypatch.setattr(COMMANDS["find"], "handler", boom)
        reply = say(engine, "UALICE", "/crm find glob")
    finally:
        logging.getLogger().removeHandler(handler)
    logged = stream.getvalue()
    assert "command failed" in logged and "RuntimeError" in logged
    assert "ops@globex.example" not in logged and "secretvalue" not in logged
    assert "ops@globex" not in reply.text
