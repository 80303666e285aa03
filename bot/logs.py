"""Logging that never writes tokens or personal data.

httpx logs every request URL at INFO, and Telegram's URLs contain the bot token; handlers
log customer names and emails when they fail. A filter on every root handler rewrites each
record's final message before it is written.

The libraries also dump whole payloads, customers' messages and names included:
python-telegram-bot logs the raw getUpdates batch at CRITICAL when one update cannot be parsed
("Error while parsing updates! Received data was %r", telegram/_bot.py) and every Bot API call's
parameters and result at DEBUG; slack_sdk every Web API request and response body at DEBUG
(slack_sdk/web/async_internal_utils.py); Bolt an unhandled request's body at WARNING and listener
errors on a logger named after the app's file. So in every record that is not ours (``crm.*``) a
payload dump, from its first ``{``/``[`` to its last ``}``/``]`` (to the end when cut off), is
replaced by the ids and kinds it holds, and URL query strings are dropped; in their tracebacks the
exception lines get the same treatment. Our own records name ids and kinds themselves.
"""
from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timezone

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


OUR_LOGGERS = "crm"  # every logger of ours is crm.<part>; anything else is a library's (or the root's)
# ids worth keeping from a payload (Telegram updates, Slack events and API answers); never a text field
_PAYLOAD_IDS = re.compile(r"""['"](update_id|message_id|event_id|callback_id|ts|event_ts|type|ok|error)['"]\s*:\s*"""
                          r"""['"]?([\w.:-]{1,40})""")
_PAYLOAD_KEYS = re.compile(r"""['"]([a-z_]{2,40})['"]\s*:""")
UPDATE_KINDS = frozenset({  # https://core.telegram.org/bots/api#update
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection", "business_message",
    "edited_business_message", "deleted_business_messages", "message_reaction", "message_reaction_count",
    "inline_query", "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost", "event"})
_PAYLOAD_START = re.compile(r"""\{|\[(?=\s*[\[{'"\d\]-])""")
_QUERY = re.compile(r"""(https?://[^\s?'"`]+)\?[^\s'"`]*""")


def redact_payloads(text: str) -> str:
    """A payload dump in a library's message becomes "<payload withheld: update_id=…; kinds=…; N chars>"."""
    text = _QUERY.sub(r"\1?[query]", text)
    found = _PAYLOAD_START.search(text)  # "{", or a list of values ("[{…", "['…", "[1, …"), not "[phone]"
    if found is None:
        return text
    start = found.start()
    end = max(text.rfind("}"), text.rfind("]"))
    if end < start:
        end = len(text) - 1  # cut off (PTB's "invalid JSON data" is whatever arrived)
    segment = text[start:end + 1]
    ids: dict[str, list[str]] = {}
    for key, value in _PAYLOAD_IDS.findall(segment):
        seen = ids.setdefault(key, [])
        if value not in seen and len(seen) < 5:
            seen.append(value)
    kinds = sorted({key for key in _PAYLOAD_KEYS.findall(segment) if key in UPDATE_KINDS})
    parts = [f"{key}={','.join(values)}" for key, values in ids.items()]
    if kinds:
        parts.append("kinds=" + ",".join(kinds))
    parts.append(f"{len(segment)} chars")
    return f"{text[:start]}<payload withheld: {'; '.join(parts)}>{text[end + 1:]}"


def _is_library(record: logging.LogRecord) -> bool:
    return not (record.name == OUR_LOGGERS or record.name.startswith(OUR_LOGGERS + "."))


def _traceback_payloads(text: str) -> str:
    """The exception lines of a traceback (not indented: "KeyError: {...}"), not the source lines."""
    return "\n".join(line if line[:1].isspace() or line.startswith("Traceback (") else redact_payloads(line)
                     for line in text.split("\n"))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "crm_redacted", False):  # a record goes through each handler's filter
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.crm_redacted = True
        library = _is_library(record)
        if library:
            message = redact_payloads(message)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(_traceback_payloads(record.exc_text) if library else record.exc_text)
        return True


# --- LOG_FORMAT=json: one JSON object per line, for log shippers (Loki, ELK, CloudWatch) -----------------
# Redaction is not done by the formatter: RedactingFilter sits on the same handler and has already
# rewritten the record's message and traceback when it runs, so JSON and text logs hide exactly the same
# things. Only the stack of ``stack_info=True`` (which the filter does not see) is redacted here.

# attributes every LogRecord has; anything else was passed with ``extra=`` and is kept as a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:  # no filter ran (a handler without redaction)
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) else redact(str(value))
        return json.dumps(entry, ensure_ascii=False)


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
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    install_redaction()
