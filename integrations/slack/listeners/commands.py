"""``/crm`` slash commands: journaled before the ack, run as the Slack user after it, answered at
the response_url; commands a stopped instance acknowledged but never answered are recovered.
Mixed into ``SlackAdapter``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Awaitable, Callable

from bot.messages import IncomingMessage
from bot.replies import Reply
from crm import command_journal as journal
from crm.i18n import gettext
from integrations.slack.answering import Origin
from integrations.slack.wire import unescape

log = logging.getLogger("crm.slack")

# a command retried past journal.GIVE_UP_AFTER: it may or may not have been done
GAVE_UP = "Sorry, I could not finish `/crm {command}`. Please check whether it was done and try again."

# how often acknowledged commands a crashed instance left unanswered are looked for: every 15 s, and at
# least three times a lease (a shortened lease is taken over within a third of it, not 15 s later)
RECOVERY_SECONDS = min(15.0, journal.LEASE.total_seconds() / 3)


ANSWER_WORKERS = 16  # answers being worked on at once (engine, then the post to the response_url)
# of those, how many run their command in the engine at once: each is a thread taking turns at the GIL
# with the event loop (the acks), and on SQLite one of them holds the single writer, which the acks'
# journal batches wait for; more threads only make that holder wait longer for its turns at the GIL
ENGINE_SLOTS = 2
# while Slack requests are arriving, answers get this share of the time, one at a time (see AckFirst);
# bench/load.py --commands 2000 --chats 0, same run: 0.1 gave the most acks/s and the lowest p99 with the
# same answers/s as no pacing (share 1) and 0.25
ANSWER_SHARE_UNDER_ACKS = 0.1
CROWD = 4  # Slack requests in flight at once from which answers yield (a burst, or acks slowed down)
QUIET_SECONDS = 0.05  # no crowd for this long: the burst is over, answers go at full speed


class AckFirst:
    """Acks first: answers run at full speed unless Slack requests are crowding in, and then at a
    bounded share of the time.

    An answer costs about four times an ack in CPU (the command's ORM work, the blocks, the post), and
    it runs in the same process, taking turns at the GIL with the event loop that acks (and on SQLite
    holding the one writer the acks' journal batch needs). Under a burst, answers running at full
    speed slowed every ack; Slack fails a command whose ack takes 3 s, while a response_url stays
    valid for 30 minutes. So while ``crowd`` or more requests are being acknowledged at once (a burst,
    or acks slowed down: a trickle that the server keeps up with never gets there), one answer runs at
    a time and after each the pool rests for ``(1 - share) / share`` times what it took (cut short when
    the crowd is gone): answers keep going (at least ``share`` of the time, never starved), the acks
    get the rest, and the backlog waits in the queue and in the journal (its leases renewed), then
    drains at full speed once the crowd has been gone for ``quiet`` seconds."""

    def __init__(self, share: float = ANSWER_SHARE_UNDER_ACKS, quiet: float = QUIET_SECONDS,
                 crowd: int = CROWD):
        self.share = min(max(share, 0.01), 1.0)
        self.quiet = quiet
        self.crowd = max(crowd, 1)
        self.arriving = 0  # Slack requests being acknowledged right now
        self._crowded_at = -1e9  # when ``crowd`` or more were last in flight
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @contextlib.contextmanager
    def acking(self):
        """Around each Slack request's handling (the ack path)."""
        self.arriving += 1
        if self.arriving >= self.crowd:
            self._crowded_at = time.monotonic()
        try:
            yield
        finally:
            if self.arriving >= self.crowd:
                self._crowded_at = time.monotonic()
            self.arriving -= 1

    def busy(self) -> bool:
        return self.arriving >= self.crowd or time.monotonic() - self._crowded_at < self.quiet

    async def run(self, work: Callable[[], Awaitable]):
        """``work()`` now if acks are not crowding in, else at its turn (one at a time, paced)."""
        if not self.busy() or self.share >= 1.0:
            return await work()
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Lock()
        async with turn:
            started = time.monotonic()
            try:
                return await work()
            finally:
                rest_until = time.monotonic() + (time.monotonic() - started) * (1 - self.share) / self.share
                while self.busy() and (left := rest_until - time.monotonic()) > 0:
                    await asyncio.sleep(min(left, self.quiet))


@dataclass
class _Job:
    """A command to answer after its ack: what to run, where the answer goes, its journal row."""

    command_id: int | None
    origin: Origin
    make_reply: Callable[[], Awaitable[Reply]]
    last_try: bool
    done: asyncio.Future  # resolved once answered and marked so (or given up)


class _Pool:
    """The answer workers of one event loop and their queue (in the app there is one loop; tests
    also drive the recovery from loops of their own, and asyncio queues belong to one loop)."""

    def __init__(self, adapter: "CommandListeners", workers: int):
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.engine_slots = asyncio.Semaphore(ENGINE_SLOTS)
        self.workers = [asyncio.create_task(adapter._answer_worker(self), name=f"slack-answer-{n}")
                        for n in range(workers)]


class CommandListeners:
    """Slash commands and their recovery (needs the adapter's app, identity, journal writer)."""

    answer_workers = ANSWER_WORKERS

    async def run(self, user_id: str, text: str, *, channel_id: str | None = None, message_id: str | None = None,
                  user_name: str | None = None, once: bool = False, journal_id: int | None = None,
                  rerun: bool = False) -> Reply:
        """One `/crm` line through the engine, as this Slack user (``once``: claimed with its work, on
        its journal row ``journal_id`` when it has one; ``rerun``: a recovered command)."""
        email = await self.identity.email_if_unknown(user_id)
        extra = {"once": once}
        if journal_id is not None:
            extra.update(journal_id=journal_id, rerun=rerun)
        message = IncomingMessage(platform="slack", user_id=user_id, text=text, chat_id=channel_id,
                                  message_id=message_id, user_name=user_name, user_email=email, extra=extra)
        return await self.app.in_background(self.app.engine.handle, message)

    async def _ack_command(self, ack, body: dict) -> None:
        """The command is journaled before the ack, so an acknowledged command survives a crash of
        this instance (the recovery pass answers it); then it runs and is answered after the ack,
        at the response_url. A retried delivery is already journaled and runs nothing."""
        trigger = str(body.get("trigger_id") or f"none.{uuid.uuid4().hex}")
        user_id, text = str(body.get("user_id") or ""), unescape(str(body.get("text") or ""))
        channel_id, user_name = body.get("channel_id"), body.get("user_name")
        try:  # one INSERT and one COMMIT shared with the other acks of the moment
            command_id = await self.journal.accept(journal.NewCommand(
                "slack", f"cmd:{trigger}", user_id, text, self.app.instance, user_name=user_name,
                channel_id=channel_id, reply_to=body.get("response_url")))
            if command_id is None:
                log.info("ignoring a repeated slash command %s", trigger)
                await ack()
                return
        except Exception:  # the store is down: still answer (with the engine's apology) rather than time out
            log.exception("could not journal a slash command; running it unjournaled")
            command_id = None
        origin = Origin(user_id, channel_id, body.get("response_url"))
        self._answer_later(command_id, origin, lambda: self.run(
            user_id, text, channel_id=channel_id, message_id=f"cmd:{trigger}", user_name=user_name, once=True,
            journal_id=command_id))
        await ack()

    def _answer_later(self, command_id: int | None, origin: Origin, make_reply, *,
                      last_try: bool = False) -> asyncio.Future:
        """Queues ``make_reply()`` for the answer pool: run after the ack, answered with, and the
        journal row marked answered (``last_try``: even when the answer could not be sent). The
        row is in hand (its lease renewed) from now until it is marked. Returns a future done then.
        A bounded pool rather than a task per command: under a burst the backlog waits in the
        queue (and in the journal), instead of thousands of tasks taking turns with the acks."""
        loop = asyncio.get_running_loop()
        if command_id is not None:
            self._in_hand.add(command_id)
        job = _Job(command_id, origin, make_reply, last_try, loop.create_future())
        pool = self._answer_pools.get(loop)
        if pool is None:
            pool = self._answer_pools[loop] = _Pool(self, self.answer_workers)
        pool.queue.put_nowait(job)
        return job.done

    async def _answer_worker(self, pool: _Pool) -> None:
        queue = pool.queue
        while True:
            job = await queue.get()
            try:
                await self._answer_job(job, pool.engine_slots)
            except Exception:
                log.exception("answering slash command %s failed", job.command_id)
                self._finished(job)
            finally:
                queue.task_done()

    async def _answer_job(self, job: _Job, engine_slots: asyncio.Semaphore) -> None:
        async def work():
            async with engine_slots:
                reply = await job.make_reply()
            await self._answer(job.origin, reply)

        async def paced():
            return await self._guarded(job.origin, work)

        if (await self.ack_first.run(paced) or job.last_try) and job.command_id is not None:
            # marked in the journal writer's next batch; the worker goes on to the next command meanwhile
            self.journal.answered(job.command_id).add_done_callback(lambda marked: self._finished(job, marked))
        else:
            self._finished(job)

    def _finished(self, job: _Job, marked: asyncio.Future | None = None) -> None:
        if marked is not None and not marked.cancelled() and marked.exception() is not None:
            log.error("could not mark slash command %s answered; it may be answered again", job.command_id,
                      exc_info=marked.exception())
        self._in_hand.discard(job.command_id)
        if not job.done.done():
            job.done.set_result(None)

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
            lang = await self.identity.language_of(command.user_id)
            return Reply.fail(gettext(lang, GAVE_UP, command=command.text[:200]))
        return await self.run(command.user_id, command.text, channel_id=command.channel_id,
                              message_id=command.delivery_id, user_name=command.user_name, once=True,
                              journal_id=command.id, rerun=True)
