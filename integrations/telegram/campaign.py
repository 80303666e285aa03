"""The campaign sender's line to Telegram: python-telegram-bot's ``Bot``, errors sorted by what they prove.

A ``Bot`` of its own rather than the adapter's: the adapter's bot runs behind PTB's
``AIORateLimiter``, which would wait on top of the campaign's token bucket and retry a
RetryAfter three times out of sight. Here the campaign's limiter is the only one, and every
Telegram answer reaches it.
"""
from __future__ import annotations

from datetime import timedelta

import httpx
from telegram import Bot
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError, TimedOut)
from telegram.request import HTTPXRequest

from crm.campaigns.sender import Blocked, NotSent, OutcomeUnknown, Rejected, RetryLater

# httpx errors raised before a single byte of the request left this machine
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramCampaignMessenger:
    def __init__(self, token: str, api_url: str, *, connections: int = 8, timeout: float = 10.0):
        request = HTTPXRequest(connection_pool_size=connections, read_timeout=timeout, write_timeout=timeout,
                               connect_timeout=timeout, pool_timeout=timeout)
        self.bot = Bot(token, base_url=api_url, request=request)

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()

    async def send(self, chat_id: int, text: str) -> int:
        try:
            message = await self.bot.send_message(chat_id, text)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise Blocked(exc.message) from exc
        except (BadRequest, ChatMigrated) as exc:
            raise Rejected(f"Telegram refused the message: {exc.message}") from exc
        except InvalidToken as exc:
            raise NotSent(f"Telegram refused the bot token: {exc.message}") from exc
        except NetworkError as exc:  # TimedOut included
            cause = exc.__cause__
            if isinstance(cause, _NEVER_SENT):
                raise NotSent(f"could not reach Telegram: {exc.message}") from exc
            if cause is None and not isinstance(exc, TimedOut):
                # Telegram answered with an error status: it did not take the message
                raise NotSent(f"Telegram error: {exc.message}") from exc
            raise OutcomeUnknown(f"no answer from Telegram: {exc.message or type(cause).__name__}") from exc
        except TelegramError as exc:
            raise Rejected(f"Telegram error: {exc.message}") from exc
        return message.message_id
