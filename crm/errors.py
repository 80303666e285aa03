"""Exceptions that answer the user: bad input, nothing found, several matches, not allowed.

They live in crm/ because the store's own functions (customer lookup, import, segments) raise them;
the engine (bot/engine.py) turns them into replies. ``bot.errors`` re-exports them for handlers.
"""
from __future__ import annotations


class UserError(Exception):
    """Bad input: the message says what was wrong; ``usage`` shows the right form."""

    def __init__(self, message: str, usage: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage = usage


class NotFound(UserError):
    pass


class Ambiguous(UserError):
    """Several customers fit ``ref``; ``candidates`` are (id, label) pairs. The engine offers one
    button per candidate that reruns the original command with ``ref`` replaced by ``#id``."""

    def __init__(self, message: str, candidates: list, usage: str | None = None, ref: str | None = None):
        super().__init__(message, usage)
        self.candidates = candidates
        self.ref = ref
        self.command_line: str | None = None  # the command as typed, set by the engine
        self.lang = "en"


class PermissionDenied(UserError):
    pass
