"""Telegram updates as they arrive, before anything reads them: the JSON with NUL characters taken out
(PostgreSQL text cannot hold them), which kind of update it is, and the ones python-telegram-bot cannot
parse logged (redacted) and counted. Shared by the webhook (``adapter.py``) and the inbound queue's
processor (``inbound.py``), which both read raw bodies.
"""
from __future__ import annotations

import json
import logging
from collections import Counter

log = logging.getLogger("crm.telegram")

def is_int64(value) -> bool:
    """Telegram's ids fit a signed 64-bit integer (the store's BIGINT); anything else is not from Telegram."""
    return isinstance(value, int) and not isinstance(value, bool) and -2 ** 63 <= value < 2 ** 63


UNPARSEABLE: Counter = Counter()  # unparseable updates by kind, since the start (for /metrics)


def update_kind(data: dict) -> str:
    """``message``, ``edited_message`` … : the update's field other than its id."""
    kinds = [k for k in data if k != "update_id"]
    return kinds[0] if len(kinds) == 1 else ",".join(sorted(kinds)) or "empty"


def note_unparseable(data: dict, exc: Exception, metrics=None) -> None:
    """Logs (through the redacting filter, without the update's content) and counts an update PTB could not read
    (in memory and, when the app has them, on /metrics as crm_telegram_unparseable_updates_total)."""
    kind = update_kind(data)
    UNPARSEABLE[kind] += 1
    if metrics is not None:
        metrics.record_unparseable(kind)
    inner = data.get(kind) if isinstance(data.get(kind), dict) else {}
    log.warning("telegram: acknowledged update %s (%s) that python-telegram-bot cannot parse: %s: %s; fields: %s "
                "(%d such updates since start)", data.get("update_id"), kind, type(exc).__name__, str(exc)[:200],
                ",".join(sorted(inner)) if inner else "-", sum(UNPARSEABLE.values()))


def strip_nul(value):
    if isinstance(value, dict):
        return {k: strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    return value.replace("\x00", "") if isinstance(value, str) else value


def loads_update(body: bytes | str):
    """The update's JSON, with NUL characters taken out of its strings (PostgreSQL text cannot hold them).
    In JSON a NUL can only be written ``\\u0000``: without that, there is nothing to take out (and no
    object_hook to run on every object, which cost as much as the parsing)."""
    data = json.loads(body)
    marker = b"\\u0000" if isinstance(body, bytes) else "\\u0000"
    return json.loads(body, object_hook=_without_nul) if marker in body else data


def _without_nul(obj: dict) -> dict:
    return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in obj.items()}
