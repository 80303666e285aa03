"""Exceptions a handler raises to answer the user; the router turns them into replies."""
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
    def __init__(self, message: str, candidates: list, usage: str | None = None):
        super().__init__(message, usage)
        self.candidates = candidates


class PermissionDenied(UserError):
    pass
