"""The terminal chat: the same `/crm` commands as Slack, rendered with rich.

Buttons become numbered choices: type the number to press one.
"""
from __future__ import annotations

import asyncio
import logging
import sys

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.engine import Engine
from bot.messages import IncomingMessage
from bot.replies import Button, Reply
from crm.models import Staff

log = logging.getLogger("crm.console")

FORM_HINTS = {
    "log": "{cmd} call|email|meeting|chat|note [when] <summary>",
    "remind": "{cmd} <when> <what>",
    "snooze": "{cmd} <when>   (e.g. 1h, tomorrow 9am)",
}


def render(reply: Reply, buttons_out: list[Button] | None = None):
    """A rich renderable for a reply; pressable buttons are appended to ``buttons_out``."""
    reply = reply.with_names()  # mentions as "@Name"
    parts = [Text(reply.text, style="bold red" if reply.error else "bold")]
    if reply.fields:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="cyan", no_wrap=True)
        table.add_column()
        for label, value in reply.fields:
            table.add_row(label, str(value))
        parts.append(table)

    def add_buttons(buttons: list[Button]) -> Text | None:
        if buttons_out is None or not buttons:
            return None
        line = Text("   ")
        for b in buttons:
            buttons_out.append(b)
            line.append(f"[{len(buttons_out)}] {b.label}  ", style="magenta")
        return line

    def add_items(items) -> None:
        for item in items:
            parts.append(Text("• " + item.text))
            line = add_buttons(item.buttons)
            if line is not None:
                parts.append(line)

    add_items(reply.items)
    for section in reply.sections:
        parts.append(Text("\n" + section.title, style="bold underline"))
        if section.text:
            parts.append(Text(section.text))
        for label, value in section.fields:
            parts.append(Text(f"{label}: {value}"))
        add_items(section.items)
    line = add_buttons(reply.buttons)
    if line is not None:
        parts.append(line)
    if reply.usage:
        parts.append(Text(f"Usage: /crm {reply.usage}", style="yellow"))
    if reply.image_path:
        parts.append(Text(f"🖼  image saved to {reply.image_path}", style="green"))
    if reply.file_path:
        parts.append(Text(f"📎 file saved to {reply.file_path}", style="green"))
    return Panel(Group(*parts), border_style="red" if reply.error else "blue", expand=False)


class ConsoleChat:
    def __init__(self, engine: Engine, staff_name: str, console: Console | None = None):
        self.engine = engine
        self.staff_name = staff_name
        self.console = console or Console()
        self.buttons: list[Button] = []

    def show(self, reply: Reply) -> None:
        self.buttons = []
        self.console.print(render(reply, self.buttons))
        if self.buttons:
            last = len(self.buttons)
            self.console.print(Text("Type 1 to press [1]" if last == 1 else f"Type 1–{last} to press a button",
                                    style="dim"))

    def run_line(self, line: str) -> Reply | None:
        line = line.strip()
        if not line:
            return None
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            button = self.buttons[int(line) - 1]
            if button.form:
                hint = FORM_HINTS.get(button.form, "{cmd} …").format(cmd="/crm " + button.command)
                self.console.print(Text(f"Type: {hint}", style="yellow"))
                return None
            line = button.command
        reply = self.engine.handle(IncomingMessage(platform="console", user_id=self.staff_name, text=line))
        self.show(reply)
        return reply

    def loop(self) -> None:
        self.console.print(Text(f"CRM terminal chat — you are {self.staff_name}. Type /crm help, a number to "
                                "press a button, or quit.", style="bold green"))
        while True:
            try:
                line = input("crm> " if sys.stdin.isatty() else "")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                return
            if line.strip().lower() in ("quit", "exit", ":q", "退出"):
                return
            self.run_line(line)

    async def send(self, staff: Staff, reply: Reply) -> None:
        """Delivery sender: reminders and digests for whoever sits at this terminal. Other people's
        notices are not this person's to read (nor to interleave with their typing): they are left out."""
        if staff.name != self.staff_name:
            log.debug("terminal chat of %s: a notice for %s is not shown here", self.staff_name, staff.name)
            return
        await asyncio.to_thread(self.console.print, Text("\n🔔 ", style="bold yellow"))
        await asyncio.to_thread(self.console.print, render(reply))
