"""The platform-neutral incoming message."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IncomingMessage:
    platform: str  # "slack" | "telegram" | "console"
    user_id: str  # the platform's user id (Slack U…, Telegram numeric id, console staff name)
    text: str
    chat_id: str | None = None  # Slack channel / Telegram chat
    thread_id: str | None = None  # Slack thread_ts
    message_id: str | None = None  # the platform's id for this message or event (idempotency)
    user_name: str | None = None
    user_email: str | None = None  # filled by adapters that can look it up (Slack users.info)
    language: str | None = None  # "en" | "zh", when the platform says
    extra: dict = field(default_factory=dict)
