"""Exceptions that answer the user: bad input, nothing found, several matches, not allowed.

They live in crm/ because the store's own functions (customer lookup, import, segments) raise them;
the engine (bot/engine.py) turns them into replies. ``bot.errors`` re-exports them for handlers.

The message is an English msgid of the catalogue (crm/i18n.py) with ``{fields}`` filled from keyword
values, as ``UserError("No customer matches “{ref}”.", ref=ref)``: the store raises it without knowing
who asked, and the engine shows ``text(lang)`` in the reader's language. A message a handler already
translated (``ctx.fail(ctx.t(...))``) has no catalogue entry of its own and is shown as it is.
"""
from __future__ import annotations

from crm.i18n import catalogue


class UserError(Exception):
    """Bad input: the message says what was wrong; ``usage`` shows the right form."""

    def __init__(self, message: str, usage: str | None = None, /, **values):
        self.msgid = message
        self.values = values
        # English as written, fields filled (values are inserted, never re-read as a format)
        self.message = message.format(**values) if values else message
        super().__init__(self.message)
        self.usage = usage
        self.lang: str | None = None  # the reader's language, set by the engine once it knows who asked

    def text(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the reader's, else English) from the catalogue."""
        lang = lang or self.lang or "en"
        found = catalogue(lang).get((None, self.msgid)) if lang != "en" else None
        if not isinstance(found, str):
            found = self.msgid if self.values else self.message
        # a value may itself be an error (the reason a segment is unreadable): in the same language
        values = {k: v.text(lang) if isinstance(v, UserError) else v for k, v in self.values.items()}
        return found.format(**values) if values else found


class NotFound(UserError):
    pass


class Ambiguous(UserError):
    """Several customers fit ``ref``; ``candidates`` are (id, label) pairs. The engine offers one
    button per candidate that reruns the original command with ``ref`` replaced by ``#id``."""

    def __init__(self, message: str, candidates: list, usage: str | None = None, ref: str | None = None,
                 /, **values):
        super().__init__(message, usage, **values)
        self.candidates = candidates
        self.ref = ref
        self.command_line: str | None = None  # the command as typed, set by the engine


class PermissionDenied(UserError):
    pass
