"""What the core and the handlers may ask of the adapters, typed, and the one object that holds them.

Adapters provide these; nothing imports an adapter to reach them. ``Ports`` is filled in at
composition: bot/app.py (the staff delivery and the campaign runner), and each adapter's own
constructor or ``start`` (it registers itself once it can serve). A port left ``None`` means that
capability is not configured here (no Slack: no team inbox; no Telegram: no customer messenger).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.replies import Reply
from crm.models import Staff


class StaffDelivery(Protocol):
    """Sends a reply to a staff member wherever they are (Slack DM, Telegram, terminal)."""

    async def to_staff(self, staff: Staff, reply: Reply) -> str:
        """Sends and returns the platform used; raises bot.delivery.DeliveryError when nothing reaches them."""
        ...


class TeamInbox(Protocol):
    """Where customer conversations appear for the team: one Slack thread per ticket."""

    async def open_thread(self, channel: str | None, owner_slack_id: str | None, reply: Reply) -> tuple[str, str]:
        """Posts the conversation's first message; returns (channel, thread ts)."""
        ...

    async def post(self, channel: str, thread_ts: str, reply: Reply) -> str:
        """Posts into an existing thread; returns the message ts."""
        ...

    async def post_blocks(self, channel: str, thread_ts: str, text: str, blocks: list[dict] | None = None) -> str:
        """Posts already-drawn content (a customer's message as literal rich text); returns its ts."""
        ...

    async def update_blocks(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
        """Replaces a posted message (a customer's edit)."""
        ...

    async def upload(self, channel: str, thread_ts: str, content: bytes, filename: str) -> None:
        """Uploads a file into the thread."""
        ...

    async def delete(self, channel: str, ts: str) -> str | None:
        """Deletes a message the bot posted (erasure). None when it is gone (or already was); the platform's
        reason when it refuses for good (too old for the bot, a missing scope: an admin must remove it).
        Raises on anything worth trying again (network, rate limits)."""
        ...


class CustomerInbox(Protocol):
    """Takes the team's replies in a ticket's thread towards the customer (integrations/inbox_live.py)."""

    async def is_ticket_thread(self, channel: str, thread_ts: str) -> bool: ...

    async def staff_message(self, message, event_id: str, html: str, plain: str) -> bool:
        """A reply with its files (``message``: integrations.slack.listeners.events.StaffMessage), its text as Telegram
        HTML and as plain text; True when the thread is a ticket's (and the reply was handled)."""
        ...

    async def staff_edit(self, message, event_id: str, html: str, plain: str) -> None:
        """An edited reply: the customer's copy is edited."""
        ...

    async def staff_delete(self, channel: str, ts: str, event_id: str, thread_ts: str | None = None) -> None:
        """A deleted reply: the customer's copy is deleted."""
        ...

    async def staff_reply(self, channel: str, thread_ts: str, slack_user_id: str, text: str, event_id: str) -> bool:
        """A plain-text reply (no files); True when the thread is a ticket's."""
        ...


class CustomerMessenger(Protocol):
    """Sends what the store queued for customers (the inbox outbox)."""

    def wake(self) -> None:
        """Thread-safe: deliver queued rows now (called after a commit that queued some)."""
        ...


class CampaignRunner(Protocol):
    """Sends confirmed campaigns (crm/campaigns/sender.py's CampaignRunner)."""

    @property
    def enabled(self) -> bool: ...

    def wake(self) -> None:
        """Thread-safe: look for campaigns to send now."""
        ...


@dataclass
class Ports:
    delivery: StaffDelivery | None = None
    team_inbox: TeamInbox | None = None
    customer_inbox: CustomerInbox | None = None
    customer_messenger: CustomerMessenger | None = None
    campaign_runner: CampaignRunner | None = None
    telegram_bot_username: str | None = None  # for t.me links; known once the Telegram bot has started
