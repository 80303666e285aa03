"""Modals: opening the log / remind / snooze forms, and their submissions, which answer in the ack
itself (validation errors on the right block). Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import asyncio
import logging
import uuid

from slack_sdk.errors import SlackApiError

from bot.cards import customer_label
from bot.engine import UNKNOWN_USER
from bot.replies import Button, Reply
from crm.models import Customer, Task
from integrations.slack import blocks as kit
from integrations.slack.answering import Origin, apology
from integrations.slack.forms import error_block, form_command, last_input, short, view_metadata

log = logging.getLogger("crm.slack")

TOO_SLOW = "That took too long — click again, please."


class ViewListeners:
    """The forms behind buttons (``crm_form_log|remind|snooze``)."""

    async def open_form(self, trigger_id: str, origin: Origin, button: Button) -> None:
        staff, _ = await self.identity.resolve(origin.user_id)
        if staff is None:
            await self._answer(origin, Reply.fail(UNKNOWN_USER))
            return
        lang = staff.language
        subject = await asyncio.to_thread(self._subject_label, button.command)
        meta = origin.metadata(cmd=button.command)
        if button.form == "log":
            view = kit.log_modal(subject, meta, lang)
        elif button.form == "remind":
            view = kit.remind_modal(subject, meta, lang)
        elif button.form == "snooze":
            view = kit.snooze_modal(subject, meta, lang)
        else:
            await self._answer(origin, await self.run(origin.user_id, button.command))
            return
        await self._open_view(trigger_id, view, origin)

    async def _open_view(self, trigger_id: str, view: dict, origin: Origin) -> None:
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as err:
            if err.response.get("error") != "expired_trigger_id":
                raise
            await self._tell(origin, TOO_SLOW)

    def _subject_label(self, command: str) -> str:
        """What a form is about, for its header: the customer (with owner) or the task."""
        words = command.split()
        ref = next((w for w in words[1:] if w.startswith("#") and w[1:].isdigit()), None)
        if ref is None:
            return command
        with self.app.db.session() as session:
            if words[0] == "snooze":
                task = session.get(Task, int(ref[1:]))
                return f"#{task.id} {task.title}" if task else command
            customer = session.get(Customer, int(ref[1:]))
            return customer_label(session, customer) if customer else command

    async def _on_form_submit(self, ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        meta = view_metadata(view)
        origin = Origin.from_metadata(user_id, meta)
        try:
            form = view["callback_id"].removeprefix("crm_form_")
            staff, _ = await self.identity.resolve(user_id)
            now_stamp = kit.local_stamp(self.app.engine.clock().astimezone(staff.zone)) if staff else ""
            line, errors = form_command(form, meta.get("cmd", ""), view, now_stamp)
            if errors:
                await ack(response_action="errors", errors=errors)
                return
            reply = await self.run(user_id, line, channel_id=origin.channel_id, message_id=f"view:{view['id']}")
            if reply.error:
                await ack(response_action="errors", errors={error_block(form, reply.text): short(reply.text)})
                return
            await ack()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("modal submission failed (ref %s)", ref)
            await ack(response_action="errors", errors={last_input(view): apology(ref, await self.identity.language_of(user_id))[:150]})
            return
        await self._guarded(origin, lambda: self._answer(origin, reply))
