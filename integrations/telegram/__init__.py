"""The Telegram adapter, on python-telegram-bot, by job.

adapter.py   TelegramAdapter: webhook or polling, dispatch, the unparseable-update counter
customer.py  the customer side: /start … /forgetme and messages into the team inbox
staff.py     staff using /crm on Telegram
media.py     attachments, forwards, replies, venues in; files, edits, deletions out
render.py    Reply → Telegram HTML, split at 4,096 UTF-16 units
campaign.py  the campaign sender's Bot API client

``from integrations.telegram import TelegramAdapter`` stays the public entry point. It is
imported on first use (PEP 562), so ``integrations.telegram.render`` or ``.campaign`` do not
pull in the whole adapter.
"""
from __future__ import annotations

__all__ = ["TelegramAdapter"]


def __getattr__(name: str):
    if name == "TelegramAdapter":
        from integrations.telegram.adapter import TelegramAdapter

        return TelegramAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
