"""Who is clicking: a Slack user id → the staff member, through ``bot.identity`` (find by Slack id,
else link once by the email users.info gives). What this adds to ``bot.identity`` is Slack's side
only: the users.info call and a short cache of its answers, so a busy user is not looked up on
every click.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.identity import find_staff, link_by_email
from bot.settings import Settings
from bot.voice import staff_language, staff_zone
from crm.models import Staff

log = logging.getLogger("crm.slack")

EMAIL_CACHE_SECONDS = 60


@dataclass(frozen=True)
class StaffView:
    """What the adapter needs of a staff member, read inside a session: their zone and language as
    everything else reads them (their own setting, else CRM_TIMEZONE / CRM_LANGUAGE; bot/voice.py)."""

    id: int
    name: str
    zone: ZoneInfo
    language: str

    @classmethod
    def of(cls, staff: Staff | None, settings: Settings) -> "StaffView | None":
        if staff is None:
            return None
        return cls(staff.id, staff.name, staff_zone(staff, settings), staff_language(staff, settings))


class SlackIdentity:
    """A Slack user is the staff member with that Slack id, or the one with their email (linked once)."""

    def __init__(self, db, client: AsyncWebClient, settings: Settings):
        self.db = db
        self.settings = settings
        self.client = client
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._known: dict[str, float] = {}  # Slack ids found to be staff, until when that is trusted

    async def resolve(self, user_id: str) -> tuple[StaffView | None, str | None]:
        """(staff or None, the email from users.info when the id was unknown)."""
        staff = await asyncio.to_thread(self._find, user_id)
        if staff is not None:
            return staff, None
        email = await self.email_of(user_id)
        if email is None:
            return None, None
        return await asyncio.to_thread(self._link, user_id, email), email

    async def email_of(self, user_id: str) -> str | None:
        """users.info only for unknown ids; the answer (even "no email") is remembered briefly."""
        cached = self._emails.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        email = None
        try:
            info = await self.client.users_info(user=user_id)
            user = info.get("user") or {}
            if not user.get("is_bot") and not user.get("deleted"):
                email = (user.get("profile") or {}).get("email") or None
        except SlackApiError as err:
            log.info("users.info %s failed: %s", user_id, err.response.get("error"))
        self._emails[user_id] = (time.monotonic() + EMAIL_CACHE_SECONDS, email)
        return email

    async def email_if_unknown(self, user_id: str) -> str | None:
        """The email to link an unknown Slack id by (the engine looks the staff member up itself, so a
        known id needs nothing here: known ids are remembered for a minute instead of read again)."""
        if self._known.get(user_id, 0) > time.monotonic():
            return None
        staff, email = await self.resolve(user_id)
        if staff is not None:
            self._known[user_id] = time.monotonic() + EMAIL_CACHE_SECONDS
        return email

    async def language_of(self, user_id: str) -> str:
        """The language to apologise in when something failed: theirs if they are known staff, else
        CRM_LANGUAGE. Never raises (the failure being apologised for may be the store's)."""
        try:
            staff = await asyncio.to_thread(self._find, user_id)
        except Exception:
            log.warning("no language for %s: the store did not answer", user_id)
            staff = None
        return staff.language if staff is not None else self.settings.crm_language

    def _find(self, user_id: str) -> StaffView | None:
        with self.db.session() as session:
            return StaffView.of(find_staff(session, "slack", user_id), self.settings)

    def _link(self, user_id: str, email: str) -> StaffView | None:
        with self.db.session() as session:
            return StaffView.of(find_staff(session, "slack", user_id)
                                or link_by_email(session, "slack", user_id, email), self.settings)

