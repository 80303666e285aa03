"""The "Log to CRM" message shortcut: its modal, the customer search behind it (options answer in
the ack) and its submission. Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.cards import customer_label
from bot.engine import UNKNOWN_USER
from bot.replies import Reply
from crm.search import search_customers
from integrations.slack import blocks as kit
from integrations.slack.answering import Origin, apology
from integrations.slack.forms import error_block, message_time, short, view_metadata
from integrations.slack.wire import unescape

log = logging.getLogger("crm.slack")


class ShortcutListeners:
    """``log_to_crm`` and the ``customer_search`` options."""

    async def _on_shortcut(self, body: dict) -> None:
        message = body.get("message") or {}
        origin = Origin(body["user"]["id"], (body.get("channel") or {}).get("id"), body.get("response_url"))

        async def work():
            staff, _ = await self.identity.resolve(origin.user_id)
            if staff is None:
                await self._answer(origin, Reply.fail(UNKNOWN_USER))
                return
            meta = origin.metadata(ts=message.get("ts"))
            view = kit.shortcut_modal(unescape(message.get("text", "")), meta, staff.language)
            await self._open_view(body["trigger_id"], view, origin)

        await self._guarded(origin, work)

    async def _on_customer_options(self, ack, body: dict) -> None:
        """external_select search; unknown users get no options at all."""
        try:
            staff, _ = await self.identity.resolve(body["user"]["id"])
            if staff is None:
                await ack(options=[])
                return
            matches = await asyncio.to_thread(self._search, body.get("value", ""))
            await ack(options=kit.customer_options(matches))
        except Exception:
            log.exception("customer options failed")
            await ack(options=[])

    def _search(self, query: str) -> list[tuple[int, str]]:
        with self.app.db.session() as session:
            return [(c.id, customer_label(session, c)) for c, _ in search_customers(session, query, limit=20)]

    async def _on_shortcut_submit(self, ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        meta = view_metadata(view)
        origin = Origin.from_metadata(user_id, meta)
        try:
            customer = kit.state_value(view, "customer")
            kind = kit.state_value(view, "kind") or "chat"
            summary = kit.state_value(view, "summary") or ""
            if not customer:
                await ack(response_action="errors", errors={"customer": "Pick a customer."})
                return
            channel, ts = origin.channel_id, meta.get("ts")
            if not summary and not (channel and ts):
                await ack(response_action="errors", errors={"summary": "Write a few words."})
                return
            permalink = ""
            if channel and ts:
                try:
                    permalink = (await self.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
                except SlackApiError as err:
                    log.info("no permalink for %s:%s (%s)", channel, ts, err.response.get("error"))
            staff, _ = await self.identity.resolve(user_id)
            when = message_time(ts, staff.zone if staff else ZoneInfo("UTC"))
            text = summary + (f"\n{permalink}" if permalink else "")
            line = f"log {customer} {kind} {when} {text}"
            reply = await self.run(user_id, line, channel_id=channel,
                                   message_id=f"{channel}:{ts}" if channel and ts else f"view:{view['id']}")
            if reply.error:
                await ack(response_action="errors", errors={error_block("shortcut", reply.text): short(reply.text)})
                return
            await ack()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("shortcut submission failed (ref %s)", ref)
            await ack(response_action="errors", errors={"summary": apology(ref, await self.identity.language_of(user_id))[:150]})
            return
        await self._guarded(origin, lambda: self._answer(origin, reply))
