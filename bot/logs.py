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
    """Attach the filter to every handler of the root logger (idempotent)."""
    root = logger or logging.getLogger()
    for handler in root.handlers:
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
