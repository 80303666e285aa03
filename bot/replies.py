"""The platform-neutral reply. Adapters render it as Block Kit, Telegram HTML or terminal text.

A button carries a ``/crm`` command line: pressing it runs that command as the presser, so
buttons need no handlers of their own and obey the same roles. ``form`` names a dialog an
adapter may open first (Slack modals) to collect the rest of the command.
"""
from __future__ import annotations

from dataclasses import dataclass, field


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

    def plain_text(self) -> str:
        """Everything in the reply as plain text (terminal fallback, notifications, tests)."""
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
