"""Modal submissions → one ``/crm`` line, and the engine's validation message → the modal block it
belongs on. Pure functions: no Slack calls, no store.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from integrations.slack import blocks as kit
from crm.types import utcnow


def form_command(form: str, command: str, view: dict, now_stamp: str = "") -> tuple[str, dict[str, str]]:
    """The `/crm` line a submitted modal stands for, or the errors to show on its blocks.

    ``now_stamp`` is the user's local "YYYY-MM-DD HH:MM": a log without a date is dated now
    explicitly, so a summary that mentions a day ("they sign friday") is kept, not read as the date.
    """
    value = lambda block: kit.state_value(view, block)  # noqa: E731
    if form == "log":
        summary = value("summary") or ""
        if not summary:
            return "", {"summary": "Write a few words about it."}
        when = kit.when_phrase(view) or now_stamp
        return " ".join(p for p in (command, value("kind") or "call", when, summary) if p), {}
    if form == "remind":
        what, when = value("what") or "", kit.when_phrase(view)
        errors = {}
        if not when:
            errors["when"] = "Pick a date or say when, e.g. “tomorrow 3pm”."
        if not what:
            errors["what"] = "What should I remind you about?"
        return f"{command} {when} {what}", errors
    if form == "snooze":
        words, choice = value("when"), value("choice")
        when = words or (choice if choice and choice != "custom" else "")
        if not when:
            return "", {"when": "Say until when, e.g. “monday 10am”."}
        return f"{command} {when}", {}
    return command, {}


def error_block(form: str, message: str) -> str:
    """The input block a validation message belongs on."""
    lowered = message.lower()
    # the validation messages' own words, English and Chinese (they are matched, not shown)
    if form == "snooze":
        return "when"
    if form == "remind" and any(w in lowered for w in ("about what", "事项")):
        return "what"
    if any(w in lowered for w in ("kind", "类型")):
        return "kind"
    if form == "shortcut" and any(w in lowered for w in ("customer", "客户", "#")):
        return "customer"
    if any(w in lowered for w in ("when", "date", "past", "future", "time", "时间", "日期", "过去", "未来")):
        return "when" if form in ("log", "remind") else "summary"
    return {"log": "summary", "remind": "what", "shortcut": "summary"}.get(form, "summary")


def short(text: str) -> str:
    return kit.clip(text.replace("`", ""), 300)


def last_input(view: dict) -> str:
    inputs = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    return inputs[-1] if inputs else "summary"


def view_metadata(view: dict) -> dict:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def message_time(ts: str | None, zone: ZoneInfo) -> str:
    """The message's own time, written so the engine takes it as the interaction's date."""
    moment = datetime.fromtimestamp(float(ts), timezone.utc) if ts else utcnow()
    return kit.local_stamp(moment.astimezone(zone))
