"""The platform-neutral reply. Adapters render it as Block Kit, Telegram HTML or terminal text.

A button carries a ``/crm`` command line: pressing it runs that command as the presser, so
buttons need no handlers of their own and obey the same roles. ``form`` names a dialog an
adapter may open first (Slack modals) to collect the rest of the command.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# A person named in a reply is a neutral element, not Slack's <@U…>: each renderer draws it its own
# way (Block Kit as a real Slack mention, Telegram and the terminal as "@Name"). Private-use
# characters delimit it; text from outside has them stripped (``strip_mentions``) so it cannot forge one.
_OPEN, _SEP, _CLOSE = "\ue000", "\ue001", "\ue002"
MENTION = re.compile(f"{_OPEN}([A-Z0-9]*){_SEP}([^{_OPEN}{_SEP}{_CLOSE}]*){_CLOSE}")


def mention(name: str, slack_user_id: str | None = None) -> str:
    """A person inside reply text; ``slack_user_id`` lets Slack draw it as a real mention."""
    user = slack_user_id if slack_user_id and re.fullmatch(r"[UW][A-Z0-9]{2,20}", slack_user_id) else ""
    return f"{_OPEN}{user}{_SEP}{strip_mentions(name)}{_CLOSE}"


def strip_mentions(text: str) -> str:
    """Text from outside (a customer's name or message) cannot carry a mention element."""
    return (text or "").replace(_OPEN, "").replace(_SEP, "").replace(_CLOSE, "")


def draw_mentions(text: str, draw=lambda user_id, name: f"@{name}") -> str:
    """Each mention in ``text`` drawn by ``draw(slack_user_id, name)`` (default "@Name")."""
    return MENTION.sub(lambda m: draw(m.group(1), m.group(2)), text) if _OPEN in (text or "") else text


@dataclass
class Button:
    label: str
    command: str
    style: str | None = None  # "primary" | "danger"
    form: str | None = None  # "log" | "remind" | "snooze": ask for more before running
    confirm: str | None = None  # a question to confirm before running


@dataclass
class Item:
    text: str
    buttons: list[Button] = field(default_factory=list)


@dataclass
class Section:
    title: str
    text: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


@dataclass
class Reply:
    text: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    image_path: str | None = None
    file_path: str | None = None  # a document to attach (privacy exports)
    public: bool = False  # post to the channel, not only to the asker
    error: bool = False
    usage: str | None = None  # the right form of the command, shown after an error

    @classmethod
    def fail(cls, text: str, usage: str | None = None) -> "Reply":
        return cls(text=text, error=True, usage=usage)

    def with_names(self) -> "Reply":
        """A copy with every mention drawn as "@Name" (Telegram, the terminal)."""
        d = draw_mentions
        return replace(self, text=d(self.text), fields=[(d(k), d(str(v))) for k, v in self.fields],
                       items=[replace(i, text=d(i.text)) for i in self.items],
                       sections=[replace(s, title=d(s.title), text=d(s.text),
                                         fields=[(d(k), d(str(v))) for k, v in s.fields],
                                         items=[replace(i, text=d(i.text)) for i in s.items])
                                 for s in self.sections])

    def plain_text(self) -> str:
        """Everything in the reply as plain text (terminal fallback, notifications, tests)."""
        return draw_mentions(self._plain_text())

    def _plain_text(self) -> str:
        lines = [self.text]
        lines += [f"{k}: {v}" for k, v in self.fields]
        lines += [f"• {i.text}" for i in self.items]
        for s in self.sections:
            lines.append(f"\n{s.title}")
            if s.text:
                lines.append(s.text)
            lines += [f"{k}: {v}" for k, v in s.fields]
            lines += [f"• {i.text}" for i in s.items]
        if self.usage:
            lines.append(f"Usage: /crm {self.usage}")
        if self.image_path:
            lines.append(f"Image: {self.image_path}")
        if self.file_path:
            lines.append(f"File: {self.file_path}")
        return "\n".join(lines)
