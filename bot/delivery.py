"""Sends a reply to a staff member wherever they are: Slack DM, Telegram, or the terminal.

Adapters register a sender per platform; the scheduler and the inbox only call ``to_staff``.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from bot.replies import Reply
from crm.models import Staff

Sender = Callable[[Staff, Reply], Awaitable[None]]


class DeliveryError(Exception):
    pass


class Delivery:
    def __init__(self):
        self.senders: dict[str, Sender] = {}

    def register(self, platform: str, sender: Sender) -> None:
        self.senders[platform] = sender

    def platform_for(self, staff: Staff) -> str | None:
        if staff.prefers_telegram and staff.telegram_user_id and "telegram" in self.senders:
            return "telegram"
        if staff.slack_user_id and "slack" in self.senders:
            return "slack"
        if staff.telegram_user_id and "telegram" in self.senders:
            return "telegram"
        if "console" in self.senders:
            return "console"
        return None

    async def to_staff(self, staff: Staff, reply: Reply) -> str:
        """Send, and say on which platform. Raises DeliveryError when nothing can reach them."""
        platform = self.platform_for(staff)
        if platform is None:
            raise DeliveryError(f"no way to reach {staff.name}: no Slack or Telegram id, or that adapter is off")
        await self.senders[platform](staff, reply)
        return platform
