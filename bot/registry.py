"""The command registry: handlers register themselves with their usage text.

`/crm help` is generated from what is registered here, so a command's help lives next to
its code (Zulip bots' ``usage()``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from crm.i18n import catalogue


@dataclass
class CommandSpec:
    name: str
    handler: Callable
    usage: str  # the form, without the leading "/crm "
    summary: str  # one line for the help list
    permission: str = "crm.use"  # checked before the handler runs (bot/roles.py)
    details: str = ""  # extra help for `/crm help <command>`
    examples: list[str] = field(default_factory=list)
    aliases: tuple[str, ...] = ()
    group: str = "Customers"
    read_only: bool = False  # runs in a read session (never takes SQLite's writer); it must not write
    zh_summary: str = ""  # only for a registration written before the catalogue (see ``summary_zh``)

    @property
    def summary_zh(self) -> str:
        """The summary for Chinese-speaking staff: the catalogue's translation (crm/locale), "" when none."""
        return catalogue("zh").get((None, self.summary)) or self.zh_summary

    def summary_in(self, lang: str) -> str:
        return self.summary_zh if lang == "zh" and self.summary_zh else self.summary


COMMANDS: dict[str, CommandSpec] = {}
ALIASES: dict[str, str] = {}


def command(name: str, *, usage: str, summary: str, permission: str = "crm.use", details: str = "",
            examples: list[str] | None = None, aliases: tuple[str, ...] = (), group: str = "Customers",
            read_only: bool = False, summary_zh: str = ""):
    """Registers a command. ``summary`` is an English msgid: its Chinese lives in the catalogue
    (tools/i18n_codemod.py moves a ``summary_zh=`` written here into it)."""
    def register(func: Callable) -> Callable:
        spec = CommandSpec(name, func, usage, summary, permission, details, examples or [], aliases, group,
                           read_only, summary_zh)
        COMMANDS[name] = spec
        for alias in aliases:
            ALIASES[alias] = name
        return func

    return register


def lookup(name: str) -> CommandSpec | None:
    return COMMANDS.get(ALIASES.get(name, name))
