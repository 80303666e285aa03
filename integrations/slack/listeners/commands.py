"""``/crm`` slash commands: journaled before the ack, run as the Slack user after it, answered at
the response_url; commands a stopped instance acknowledged but never answered are recovered.
Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import asyncio
import logging
import uuid

from bot.messages import IncomingMessage
from bot.replies import Reply
from crm import command_journal as journal
from integrations.slack.answering import Origin
from integrations.slack.wire import unescape

log = logging.getLogger("crm.slack")

RECOVERY_SECONDS = 15.0  # how often acknowledged commands a crashed instance left unanswered are looked for


class CommandListeners:
    """Slash commands and their recovery (needs the adapter's app, identity, journal writers)."""

    async def run(self, user_id: str, text: str, *, channel_id: str | None = None, message_id: str | None = None,
                  user_name: str | None = None, once: bool = False) -> Reply:
        """One `/crm` line through the engine, as this Slack user (``once``: claimed with its work)."""
        email = await self.identity.email_if_unknown(user_id)
        message = IncomingMessage(platform="slack", user_id=user_id, text=text, chat_id=channel_id,
                                  message_id=message_id, user_name=user_name, user_email=email,
                                  extra={"once": once})
        return await self.app.in_background(self.app.engine.handle, message)

    async def _ack_command(self, ack, body: dict) -> None:
        """The command is journaled before the ack, so an acknowledged command survives a crash of
        this instance (the recovery pass answers it); then it runs and is answered after the ack,
        at the response_url. A retried delivery is already journaled and runs nothing."""
        trigger = str(body.get("trigger_id") or f"none.{uuid.uuid4().hex}")
        user_id, text = str(body.get("user_id") or ""), unescape(str(body.get("text") or ""))
        try:
            command_id = await self.journal_writes.run(  # shared with the other acks of the moment
                journal.accept_in, "slack", f"cmd:{trigger}", user_id=user_id, text=text,
                instance=self.app.instance, user_name=body.get("user_name"), channel_id=body.get("channel_id"),
                reply_to=body.get("response_url"))
            if command_id is None:
                log.info("ignoring a repeated slash command %s", trigger)
                await ack()
                return
        except Exception:  # the store is down: still answer (with the engine's apology) rather than time out
            log.exception("could not journal a slash command; running it unjournaled")
            command_id = None
        origin = Origin(user_id, body.get("channel_id"), body.get("response_url"))
        self._answer_later(command_id, origin, lambda: self.run(
            user_id, text, channel_id=body.get("channel_id"), message_id=f"cmd:{trigger}",
            user_name=body.get("user_name"), once=True))
        await ack()

    def _answer_later(self, command_id: int | None, origin: Origin, make_reply, *,
                      last_try: bool = False) -> asyncio.Task:
        """Runs ``make_reply()`` after the ack, answers with it and marks the journal row answered
        (``last_try``: even when the answer could not be sent). Our own task rather than a Bolt
        lazy listener: no copy of the request, and the row is known to be in hand (its lease
        renewed) exactly as long as the task runs."""
        if command_id is not None:
            self._in_hand.add(command_id)

        async def answer():
            try:
                async def work():
                    await self._answer(origin, await make_reply())

                if (await self._guarded(origin, work) or last_try) and command_id is not None:
                    await self.answered_marks.run(journal.answered_in, command_id)
            except Exception:  # the answer is out; the store is not answering
                log.exception("could not mark slash command %s answered; it may be answered again", command_id)
            finally:
                self._in_hand.discard(command_id)

        task = asyncio.create_task(answer())
        self._answering.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._answering.discard)
        return task

    async def _recover_forever(self) -> None:
        while True:
            try:
                await self.recover_commands()
            except Exception:
                log.exception("Slack command recovery failed; trying again shortly")
            await asyncio.sleep(RECOVERY_SECONDS)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(journal.LEASE.total_seconds() / 3)
            try:
                if self._in_hand:
                    await self.app.in_background(journal.renew, self.app.db, sorted(self._in_hand))
            except Exception:
                log.exception("could not renew the leases of commands in hand; trying again shortly")

    async def recover_commands(self) -> int:
        """Answers acknowledged commands whose instance died before answering; returns how many.
        Running one again is safe: the engine's claim turns work that had committed into a no-op."""
        db = self.app.db
        abandoned = await self.app.in_background(journal.claim_abandoned, db, "slack", self.app.instance)
        answering = []
        for command in abandoned:
            log.warning("answering slash command %s left unanswered by a stopped instance",
                        command.delivery_id.removeprefix("cmd:"))
            answering.append(self._answer_later(
                command.id, Origin(command.user_id, command.channel_id, command.reply_to),
                lambda command=command: self._rerun(command), last_try=command.attempts > journal.GIVE_UP_AFTER))
        await asyncio.gather(*answering)
        await self.app.in_background(journal.purge_answered, db)
        return len(abandoned)

    async def _rerun(self, command: journal.Accepted) -> Reply:
        if command.attempts > journal.GIVE_UP_AFTER:
            return Reply.fail(f"Sorry, I could not finish `/crm {command.text[:200]}`. "
                              "Please check whether it was done and try again.")
        return await self.run(command.user_id, command.text, channel_id=command.channel_id,
                              message_id=command.delivery_id, user_name=command.user_name, once=True)
