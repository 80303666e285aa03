"""What arrives on the wire from Slack, checked and read back: Slack's text escaping undone, the
body shapes Bolt would crash on refused (a 400, not a 500), and the key a delivery is claimed once by.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

# ---- Slack's escaping in slash-command and message text ---------------------------------------

_ANGLE = re.compile(r"<([^<>]*)>")


def _unangle(match: re.Match) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return target  # <@U123|alice> → @U123: the engine resolves Slack ids
    if target.startswith("#"):
        return "#" + label if label else target
    if target.startswith("!"):
        if target.startswith("!subteam^"):
            return label or "@team"
        return "@" + (label or target[1:]).lstrip("@")
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    return label or target  # <http://x|label>: what the user typed


def unescape(text: str) -> str:
    """Slack's wire format back to what the user typed: links, mentions and &amp; &lt; &gt;."""
    text = _ANGLE.sub(_unangle, text or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def malformed_body(raw: bytes, content_type: str | None) -> str | None:
    """Why Bolt could not parse this body (it expects an object: JSON, or a form, maybe with a JSON
    ``payload``), or None when it can."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return None
    if content_type == "application/json" or text.startswith("{"):
        document, what = text, "the JSON body"
    elif "payload" in text:
        document, what = dict(parse_qsl(text, keep_blank_values=True)).get("payload"), "the payload"
        if document is None:
            return None
    else:
        return None
    try:
        parsed = json.loads(document)
    except ValueError:
        return f"{what} is not valid JSON"
    return shape_problem(parsed) if isinstance(parsed, dict) else f"{what} is not a JSON object"


_OBJECT_FIELDS = ("view", "container", "message", "channel", "event", "state")
_NAME_FIELDS = ("type", "trigger_id", "callback_id", "action_id", "block_id", "response_url", "api_app_id",
                "team_id", "user_id", "channel_id", "command", "event_id", "id", "value")


def shape_problem(body: dict, depth: int = 0) -> str | None:
    """Fields Bolt dereferences while routing, checked to have the types Slack gives them; Bolt
    itself crashes (a 500) on e.g. ``"actions": null`` or a numeric ``callback_id``."""
    for key in _NAME_FIELDS:
        if key in body and not isinstance(body[key], str):
            return f"“{key}” is not a string"
    if depth > 0:  # inside an event "channel" and "user" are ids: only names and the view state are checked
        return None if isinstance(body.get("state", {}), dict) else "“state” is not an object"
    for key in ("user", "team", "enterprise"):
        if key in body and not isinstance(body[key], (dict, str)):
            return f"“{key}” is not an object"
    for key in _OBJECT_FIELDS:
        if key in body and not isinstance(body[key], dict):
            return f"“{key}” is not an object"
    if "actions" in body and not (isinstance(body["actions"], list) and body["actions"]
                                  and all(isinstance(a, dict) for a in body["actions"])):
        return "“actions” is not a list of objects"
    nested = [body.get(k) for k in ("user", "team", "enterprise") if isinstance(body.get(k), dict)]
    nested += [body[k] for k in _OBJECT_FIELDS if k in body] + list(body.get("actions") or [])
    for inner in nested:
        problem = shape_problem(inner, depth + 1)
        if problem:
            return problem
    return None


def dedup_key(body: dict) -> str | None:
    """The id under which a delivery is claimed once; None for requests that are safe to repeat."""
    kind = body.get("type")
    if kind == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if kind in ("block_actions", "view_submission", "message_action", "shortcut") and body.get("trigger_id"):
        return f"{kind}:{body['trigger_id']}"
    return None

