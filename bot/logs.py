"""Logging that never writes tokens or personal data.

httpx logs every request URL at INFO, and Telegram's URLs contain the bot token; handlers
log customer names and emails when they fail. A filter on every root handler rewrites each
record's final message before it is written.
"""
from __future__ import annotations

import logging
import os
import re

REDACTIONS = [
    (re.compile(r"xox[abposre]-[A-Za-z0-9-]{6,}"), "xox?-[redacted]"),
    (re.compile(r"xapp-[A-Za-z0-9-]{6,}"), "xapp-[redacted]"),
    (re.compile(r"\b\d{5,12}:[A-Za-z0-9_-]{30,}\b"), "[telegram-token]"),
    (re.compile(r"(?i)(bot)\d{5,12}:[A-Za-z0-9_-]{20,}"), r"\1[telegram-token]"),
    (re.compile(r"(?i)(secret[_-]?token|signing[_-]?secret|password|authorization)([\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"),
     r"\1\2[redacted]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
]
_PHONE = re.compile(r"(?<![\w.:-])\+?\d[\d ()-]{7,}\d(?![\w.:-])")
# Telegram's contact.phone_number is digits only ("4915198765432"): a run of 11-15 digits (E.164
# with its country code) is a phone number; Telegram ids (≤ 10 digits) and Slack timestamps stay
_DIGITS_PHONE = re.compile(r"(?<![\w.:/-])\d{11,15}(?![\w.:/-])")
# whatever follows a phone key is a phone number, however short ("phone_number": "4930123")
_PHONE_FIELD = re.compile(r"(?i)(phone(?:[_ -]?number)?[\"']?\s*[:=]\s*[\"']?)\+?[\d ()-]{3,}\d")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if digits < 9 or _DATE.match(text) or text.isdigit() and not text.startswith("+"):
        return text  # dates, ids and plain numbers are not phone numbers
    return "[phone]"


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    text = _PHONE_FIELD.sub(r"\1[phone]", text)
    text = _DIGITS_PHONE.sub("[phone]", text)
    return _PHONE.sub(_phone, text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of the root logger, and of every logger that writes on its
    own (uvicorn's configure handlers with propagate off), so no record bypasses it (idempotent)."""
    loggers = [logger] if logger else [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for each in loggers:
        for handler in each.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


def configure(level: str = "WARNING", log_format: str | None = None) -> None:
    """Root logging for `crm-bot`; ``log_format`` "json" (or LOG_FORMAT=json): one JSON object a line."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if (log_format or os.environ.get("LOG_FORMAT") or "text").strip().lower() == "json":
        from bot.json_logs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    install_redaction()
