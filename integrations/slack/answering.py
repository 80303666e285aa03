"""Where an answer goes: back where the request came from (the response_url, a DM, or the App Home
with the answer on top), an apology with a reference when the work failed, and the Delivery
sender for digests, reminders and notices. Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery import DeliveryError
from bot.replies import Reply
from crm.i18n import gettext
from crm.models import Staff
from integrations.slack import blocks as kit

log = logging.getLogger("crm.slack")

WEBHOOK_TIMEOUT_SECONDS = 30  # the SDK's own default for a response_url post
APOLOGY = ("Sorry, something went wrong on my side and nothing more was done. "
           "Please try again; if it keeps happening, tell an admin (ref {ref}).")


def apology(ref: str, lang: str) -> str:
    """The last-resort answer, in the reader's language (``SlackIdentity.language_of``)."""
    return gettext(lang, APOLOGY, ref=ref)


@dataclass
class Origin:
    """Where a request came from, so the answer (and any apology) can go back there."""

    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    home: bool = False

    def metadata(self, **extra) -> dict:
        data = {"u": self.response_url, "c": self.channel_id, "h": self.home}
        data.update(extra)
        return data

    @classmethod
    def from_metadata(cls, user_id: str, data: dict) -> "Origin":
        return cls(user_id, data.get("c"), data.get("u"), bool(data.get("h")))


class Answering:
    """``SlackAdapter``'s answering half (needs ``self.client``, ``self.publish_home``, ``self._loop``
    (the app's event loop, set on start) and ``self._webhook``)."""

    async def _guarded(self, origin: Origin, work) -> bool:
        """Runs after the ack: any failure is logged with a reference and the user gets a short apology.
        True when the user got an answer (the work's or the apology)."""
        try:
            await work()
            return True
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("Slack handler failed (ref %s) user=%s", ref, origin.user_id)
            try:
                lang = await self.identity.language_of(origin.user_id)
                await self._answer(origin, Reply.fail(apology(ref, lang)))
                return True
            except Exception:
                log.exception("could not send the apology (ref %s)", ref)
                return False

    async def _answer(self, origin: Origin, reply: Reply) -> None:
        """Back where the request came from: the response_url (ephemeral unless public), else a DM;
        from the App Home, the Home is refreshed with the answer on top."""
        if origin.home:
            await self.publish_home(origin.user_id, notice=("⚠️ " if reply.error else "") + reply.text)
            if reply.file_path or reply.image_path:
                await self._upload_files(await self._dm_channel(origin.user_id), reply)
            return
        reply_text = reply
        if reply.file_path or reply.image_path:
            target = origin.channel_id if reply.public and origin.channel_id else None
            where = await self._upload_files(target or await self._dm_channel(origin.user_id), reply,
                                             fallback_user=origin.user_id if target else None)
            if where and where != origin.channel_id:
                reply_text = with_note(reply, "📎 The file is in your direct messages with me.")
        # a reply past Slack's 50 blocks arrives as several messages, in order
        for text, blocks in kit.render_messages(reply_text):
            if origin.response_url:
                webhook = AsyncWebhookClient(origin.response_url, session=self._webhook_session())
                response = await webhook.send(text=text, blocks=blocks, replace_original=False,
                                              response_type="in_channel" if reply.public and not reply.error
                                              else "ephemeral")
                if response.status_code == 200:
                    continue
                log.warning("response_url answered %s; sending the reply as a DM", response.status_code)
            await self.client.chat_postMessage(channel=await self._dm_channel(origin.user_id), text=text,
                                               blocks=blocks)

    def _webhook_session(self) -> aiohttp.ClientSession | None:
        """One keep-alive HTTP session for every response_url post of the app's event loop (the SDK's
        default opens a session, and a connection, per post). None on another loop (a test driving the
        recovery from its own): the SDK's session per post then, closed with it."""
        if self._loop is not asyncio.get_running_loop():
            return None
        if self._webhook is None or self._webhook.closed:
            self._webhook = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS))
        return self._webhook

    async def _dm_channel(self, user_id: str) -> str:
        opened = await self.client.conversations_open(users=user_id)
        return opened["channel"]["id"]

    async def send_dm(self, staff: Staff, reply: Reply) -> None:
        """The Delivery sender: digests, reminders and notices reach a staff member's DM."""
        if not staff.slack_user_id:
            raise DeliveryError(f"{staff.name} has no Slack id")
        channel = await self._dm_channel(staff.slack_user_id)
        text, blocks = kit.render(reply)
        await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        if reply.file_path or reply.image_path:
            await self._upload_files(channel, reply)

    async def _tell(self, origin: Origin, text: str) -> None:
        """A short ephemeral note: via response_url, else chat.postEphemeral, else a DM."""
        if origin.response_url:
            await self._answer(Origin(origin.user_id, origin.channel_id, origin.response_url), Reply(text=text))
        elif origin.channel_id and not origin.home:
            await self.client.chat_postEphemeral(channel=origin.channel_id, user=origin.user_id, text=text)
        else:
            await self.client.chat_postMessage(channel=await self._dm_channel(origin.user_id), text=text)


def with_note(reply: Reply, note: str) -> Reply:
    return replace(reply, text=f"{reply.text}\n{note}", file_path=None, image_path=None)
