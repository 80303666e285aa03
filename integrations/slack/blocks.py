"""Block Kit for the Slack adapter: replies as messages, the App Home, and the modals.

Pure functions from the platform-neutral ``Reply`` to Slack JSON, so they can be tested
without a server. Slack's limits are respected here, in one place: 50 blocks per message
(100 in a view), 3000 characters per section text, 2000 per field, 10 fields per section,
75 per button label, 2000 per button value, 150 per menu option value. Long replies are
split into several sections and, past the block limit, cut with a note saying so.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from itertools import count

from bot.replies import Button, Item, Reply, draw_mentions
from crm.i18n import NP_, N_, gettext, pgettext

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_VALUE = 150
ACTIONS_PER_BLOCK = 25
FALLBACK_TEXT = 3000
METADATA = 3000

# action_id prefixes: a button runs its command; a form button opens a modal first;
# an overflow option's value is "<form>|<command>"
RUN = "crm_cmd"
FORM = "crm_form"
MENU = "crm_menu"

KINDS = ("call", "email", "meeting", "chat", "note")


_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def escape(text: str) -> str:
    """Text from anyone, made inert for Slack mrkdwn: &, < and > escaped (no ``<!channel>``, ``<@U…>``
    or ``<url|label>``), and a bare @channel/@here/@everyone broken with a zero-width joiner, so
    that even a client or API flag that links names (``link_names``) cannot turn it into a ping."""
    text = (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # a neutral mention (bot.replies.mention, never from outside) becomes Slack's own <@U…>, shown as the name
    drawn = draw_mentions(text, lambda user_id, name: f"<@{user_id}>" if user_id else f"@{name}")
    return _BROADCAST.sub("@\u2060", drawn)


def clip(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# plain_text shows no markup, but a client or a later edit that treats it as mrkdwn must not find any:
# "<" that would open a mention, a broadcast or a link is shown as "‹"
_PLAIN_MARKUP = re.compile(r"<(?=[!@#]|[A-Za-z][\w+.-]*:|[^<>]*\|)")


def plain(text: str, limit: int = SECTION_TEXT) -> dict:
    text = _BROADCAST.sub("@\u2060", _PLAIN_MARKUP.sub("\u2039", text or ""))
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict:
    return {"type": "mrkdwn", "text": clip(text, limit) or " "}


def _chunks(text: str, limit: int) -> list[str]:
    """Split at line breaks so each piece fits a section; a single huge line is cut."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def text_sections(text: str) -> list[dict]:
    return [{"type": "section", "text": mrkdwn(piece)} for piece in _chunks(text, SECTION_TEXT) if piece.strip()]


def field_sections(fields: list[tuple[str, str]]) -> list[dict]:
    rendered = [mrkdwn(f"*{escape(str(label))}*\n{escape(str(value))}", FIELD_TEXT) for label, value in fields]
    return [{"type": "section", "fields": rendered[i:i + FIELDS_PER_SECTION]}
            for i in range(0, len(rendered), FIELDS_PER_SECTION)]


def confirm_dialog(question: str, danger: bool) -> dict:
    dialog = {"title": plain("Are you sure?", 100), "text": plain(question, 300),
              "confirm": plain("Yes", 30), "deny": plain("Cancel", 30)}
    if danger:
        dialog["style"] = "danger"
    return dialog


def button_element(button: Button, serial: int) -> dict | None:
    """A Block Kit button whose value is the command line; None if the command cannot fit."""
    if len(button.command) > BUTTON_VALUE:
        return None
    action_id = f"{FORM}:{button.form}:{serial}" if button.form else f"{RUN}:{serial}"
    element = {"type": "button", "text": plain(button.label, BUTTON_TEXT), "action_id": action_id,
               "value": button.command}
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    if button.confirm:
        element["confirm"] = confirm_dialog(button.confirm, button.style == "danger")
    return element


def menu_value(button: Button) -> str:
    return f"{button.form or ''}|{button.command}"


def parse_menu_value(value: str) -> tuple[str | None, str]:
    form, _, command = value.partition("|")
    return (form or None), command


def overflow_element(buttons: list[Button], serial: int) -> dict | None:
    """Several buttons folded into one "⋯" menu (one block instead of two), when they allow it."""
    if not 2 <= len(buttons) <= 5 or any(b.confirm or len(menu_value(b)) > OPTION_VALUE for b in buttons):
        return None
    return {"type": "overflow", "action_id": f"{MENU}:{serial}",
            "options": [{"text": plain(b.label, BUTTON_TEXT), "value": menu_value(b)} for b in buttons]}


def actions_blocks(buttons: list[Button], serials) -> list[dict]:
    elements = [e for e in (button_element(b, next(serials)) for b in buttons) if e is not None]
    return [{"type": "actions", "elements": elements[i:i + ACTIONS_PER_BLOCK]}
            for i in range(0, len(elements), ACTIONS_PER_BLOCK)]


def item_blocks(items: list[Item], serials, compact: bool) -> list[dict]:
    """Plain items become bulleted lines packed into few sections; items with buttons get their own."""
    blocks: list[dict] = []
    pending: list[str] = []

    def flush():
        if pending:
            blocks.extend(text_sections("\n".join(pending)))
            pending.clear()

    for item in items:
        line = "• " + escape(item.text)
        if not item.buttons:
            pending.append(line)
            continue
        flush()
        section = {"type": "section", "text": mrkdwn(line)}
        if len(item.buttons) == 1 and (accessory := button_element(item.buttons[0], next(serials))):
            section["accessory"] = accessory
            blocks.append(section)
        elif compact and (menu := overflow_element(item.buttons, next(serials))):
            section["accessory"] = menu
            blocks.append(section)
        else:
            blocks.append(section)
            blocks.extend(actions_blocks(item.buttons, serials))
    flush()
    return blocks


def reply_blocks(reply: Reply, *, limit: int = MESSAGE_BLOCKS, compact: bool = False, serials=None) -> list[dict]:
    serials = serials if serials is not None else count(1)
    blocks: list[dict] = []
    title = escape(reply.text)
    if reply.error:
        blocks.extend(text_sections(":warning: " + title))
    elif reply.fields and len(reply.text) <= 150 and "\n" not in reply.text:
        blocks.append({"type": "header", "text": plain(reply.text, 150)})
    else:
        blocks.extend(text_sections(title))
    blocks.extend(field_sections(reply.fields))
    blocks.extend(item_blocks(reply.items, serials, compact))
    for section in reply.sections:
        blocks.append({"type": "divider"})
        head = f"*{escape(section.title)}*" + (f"\n{escape(section.text)}" if section.text else "")
        blocks.extend(text_sections(head))
        blocks.extend(field_sections(section.fields))
        blocks.extend(item_blocks(section.items, serials, compact))
    blocks.extend(actions_blocks(reply.buttons, serials))
    if reply.usage:
        blocks.append({"type": "context", "elements": [mrkdwn(f"Usage: `/crm {escape(reply.usage)}`")]})
    if len(blocks) > limit and not compact:
        return reply_blocks(reply, limit=limit, compact=True)
    if len(blocks) > limit:
        hidden = len(blocks) - (limit - 1)
        blocks = blocks[: limit - 1]
        blocks.append({"type": "context", "elements": [mrkdwn(
            f"…{hidden} more block(s) not shown: Slack shows at most {limit}. Narrow the request to see the rest.")]})
    return blocks


def fallback_text(reply: Reply) -> str:
    """The top-level ``text`` of a message (notifications, screen readers, clients without blocks).

    Slack parses it as mrkdwn exactly like a section's text, so a customer's name such as
    ``<!channel>`` or ``<https://evil.example|your invoice>`` would ping or plant a disguised link:
    it is escaped like every block text (Slack's own rule: escape &, < and > in text you send).
    """
    text = reply.text if not reply.error else "⚠️ " + reply.text
    return clip(escape(text), FALLBACK_TEXT)


def render(reply: Reply) -> tuple[str, list[dict]]:
    """(notification text, blocks) for chat.postMessage / respond(); every outside text is escaped."""
    return fallback_text(reply), reply_blocks(reply)


MAX_MESSAGES = 5  # a response_url accepts five messages; past that the last one says what was left out


def render_messages(reply: Reply) -> list[tuple[str, list[dict]]]:
    """The reply as one message when it fits 50 blocks (buttons folded into menus if that helps),
    else as consecutive messages of at most 50 blocks each."""
    text, blocks = render(reply)
    full = reply_blocks(reply, limit=10**9, compact=True)
    if len(full) <= MESSAGE_BLOCKS:
        return [(text, blocks)]
    parts = [full[i:i + MESSAGE_BLOCKS] for i in range(0, len(full), MESSAGE_BLOCKS)]
    if len(parts) > MAX_MESSAGES:
        hidden = sum(len(p) for p in parts[MAX_MESSAGES - 1:]) - (MESSAGE_BLOCKS - 1)
        parts = parts[:MAX_MESSAGES]
        parts[-1] = parts[-1][:MESSAGE_BLOCKS - 1] + [{"type": "context", "elements": [mrkdwn(
            f"…{hidden} more block(s) not shown. Narrow the request to see the rest.")]}]
    return [(text if n == 0 else f"{clip(text, FALLBACK_TEXT - 10)} ({n + 1}/{len(parts)})", part)
            for n, part in enumerate(parts)]


# ---- App Home --------------------------------------------------------------------------------

def home_view(parts: list[tuple[str, Reply]], notice: str | None = None) -> dict:
    """The App Home tab: a header per part (follow-ups, quiet customers, recommendations)."""
    blocks: list[dict] = []
    if notice:
        blocks.append({"type": "context", "elements": [mrkdwn(escape(notice))]})
    serials = count(1)
    for title, part in parts:
        budget = VIEW_BLOCKS - len(blocks) - 1
        if budget <= 2:
            break
        blocks.append({"type": "header", "text": plain(title, 150)})
        blocks.extend(reply_blocks(part, limit=budget, compact=True, serials=serials))
    return {"type": "home", "callback_id": "crm_home", "blocks": blocks[:VIEW_BLOCKS]}


# ---- modals ----------------------------------------------------------------------------------

# the modals' words, translated with the catalogue (crm/locale) for the reader
LABELS = {"log": N_("Log interaction"), "remind": N_("Add follow-up"), "snooze": N_("Snooze follow-up"),
          "shortcut": N_("Log to CRM"), "submit": N_("Save"), "cancel": N_("Cancel"), "customer": N_("Customer"),
          "kind": N_("Kind"), "date": N_("Date"), "time": N_("Time"), "when": N_("Or say when"),
          "when_hint": N_("e.g. yesterday 4pm, friday 10am, 明天下午3点"), "summary": N_("Summary"),
          "what": N_("What to do"), "until": N_("Until"), "custom": N_("Another time…"), "in_1h": N_("In 1 hour"),
          "tomorrow": N_("Tomorrow 9:00"), "search": N_("Type a name, company or email")}
KIND_LABELS = {"call": NP_("form kind", "Call"), "email": NP_("form kind", "Email"),
               "meeting": NP_("form kind", "Meeting"), "chat": NP_("form kind", "Chat"),
               "note": NP_("form kind", "Note")}


def _labels(lang: str) -> dict:
    return {key: gettext(lang, text) for key, text in LABELS.items()}


def _option(label: str, value: str) -> dict:
    return {"text": plain(label, 75), "value": value}


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element,
             "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text_input(multiline: bool = False, initial: str | None = None, placeholder: str | None = None,
                max_length: int = 3000) -> dict:
    element = {"type": "plain_text_input", "action_id": "value", "multiline": multiline, "max_length": max_length}
    if initial:
        element["initial_value"] = clip(initial, max_length)
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _kind_select(lang: str, initial: str) -> dict:
    options = [_option(pgettext(lang, "form kind", KIND_LABELS[k]), k) for k in KINDS]
    return {"type": "static_select", "action_id": "value", "options": options,
            "initial_option": options[KINDS.index(initial)]}


def _when_blocks(words: dict) -> list[dict]:
    return [_input("date", words["date"], {"type": "datepicker", "action_id": "value"}, optional=True),
            _input("time", words["time"], {"type": "timepicker", "action_id": "value"}, optional=True),
            _input("when", words["when"], _text_input(placeholder=words["when_hint"], max_length=200), optional=True)]


def _modal(callback_id: str, title: str, words: dict, blocks: list[dict], metadata: dict) -> dict:
    return {"type": "modal", "callback_id": callback_id, "title": plain(title, 24),
            "submit": plain(words["submit"], 24), "close": plain(words["cancel"], 24),
            "private_metadata": clip(json.dumps(metadata, separators=(",", ":")), METADATA), "blocks": blocks}


def customer_context(label: str, words: dict) -> dict:
    return {"type": "section", "block_id": "customer", "text": mrkdwn(f"*{words['customer']}:* {escape(label)}")}


def log_modal(customer_label: str, metadata: dict, lang: str = "en") -> dict:
    words = _labels(lang)
    blocks = [customer_context(customer_label, words), _input("kind", words["kind"], _kind_select(lang, "call")),
              *_when_blocks(words), _input("summary", words["summary"], _text_input(multiline=True))]
    return _modal("crm_form_log", words["log"], words, blocks, metadata)


def remind_modal(customer_label: str, metadata: dict, lang: str = "en") -> dict:
    words = _labels(lang)
    blocks = [customer_context(customer_label, words), *_when_blocks(words),
              _input("what", words["what"], _text_input(max_length=500))]
    return _modal("crm_form_remind", words["remind"], words, blocks, metadata)


SNOOZE_CHOICES = ("1h", "tomorrow 9am", "custom")


def snooze_modal(task_label: str, metadata: dict, lang: str = "en") -> dict:
    words = _labels(lang)
    options = [_option(words["in_1h"], "1h"), _option(words["tomorrow"], "tomorrow 9am"), _option(words["custom"], "custom")]
    choice = {"type": "static_select", "action_id": "value", "options": options, "initial_option": options[1]}
    blocks = [{"type": "section", "text": mrkdwn(escape(task_label))}, _input("choice", words["until"], choice),
              _input("when", words["when"], _text_input(placeholder=words["when_hint"], max_length=200), optional=True)]
    return _modal("crm_form_snooze", words["snooze"], words, blocks, metadata)


def shortcut_modal(message_text: str, metadata: dict, lang: str = "en") -> dict:
    words = _labels(lang)
    customer = {"type": "external_select", "action_id": "customer_search", "min_query_length": 1,
                "placeholder": plain(words["search"], 150)}
    blocks = [_input("customer", words["customer"], customer), _input("kind", words["kind"], _kind_select(lang, "chat")),
              _input("summary", words["summary"], _text_input(multiline=True, initial=message_text))]
    return _modal("crm_form_shortcut", words["shortcut"], words, blocks, metadata)


def customer_options(matches: list[tuple[int, str]]) -> list[dict]:
    """external_select options: value is the #id, so the submission names the customer exactly."""
    return [_option(label, f"#{cid}") for cid, label in matches[:100]]


def state_value(view: dict, block_id: str):
    """The submitted value of an input block (text, selected option value, date or time)."""
    element = (view.get("state", {}).get("values", {}).get(block_id) or {})
    element = next(iter(element.values()), None) if element else None
    if not element:
        return None
    kind = element.get("type")
    if kind in ("static_select", "external_select"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "timepicker":
        return element.get("selected_time")
    value = element.get("value")
    return value.strip() if isinstance(value, str) else value


def when_phrase(view: dict) -> str:
    """A date-time phrase the engine understands: the pickers ("2026-11-20 16:00") win over words."""
    day, time_of_day, words = state_value(view, "date"), state_value(view, "time"), state_value(view, "when")
    if day:
        return f"{day} {time_of_day}" if time_of_day else day
    if time_of_day:
        return time_of_day
    return words or ""


def local_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
