"""Delivers the customer inbox's outbox.

Rows of ``inbox_outbox`` are written in the same transaction as their cause (see
``crm/inbox/outbox.py``). This relay claims them (``outbox.claim_next``: ``pending`` →
``sending``, a ``crm.claims`` lease, so several instances never send the same row), delivers
them, and marks them ``sent``. Rows of one Telegram chat, or of one Slack thread, go out
strictly in id order: a row is claimable only when no earlier row of its chat or thread is
still unfinished.

Failures: a blocked bot (Telegram 403) or an unknown chat fail the row at once and say so in
the ticket's thread; anything else (network, flood limits beyond the rate limiter's retries)
is retried with backoff and given up after ``outbox.MAX_ATTEMPTS``, also said in the thread. A
row left ``sending`` by a crashed instance is picked up again once its lease lapses
(``outbox.SENDING``).

Slack side (the ports in ``bot/ports.py``): the Slack adapter registers ``ports.team_inbox``
(``TeamInbox``: ``open_thread`` and ``post``); this module registers ``ports.customer_inbox``
(``CustomerInbox``, ``integrations/inbox_live.StaffThreads``), which the Slack adapter calls for every
human reply, edit and deletion in a thread.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict

from sqlalchemy import update
from sqlmodel import col, select

from bot.cards import money, owner_label
from bot.metrics import metrics_of
from bot.replies import Button, Reply
from crm.customers import company_name
from crm.i18n import gettext, language_name, pgettext
from crm.labels import stage_label, tier_label
from crm.inbox import outbox
from crm.message_reading import understood_label
from crm.models import OPEN_DEAL_STAGES, Customer, Deal, InboxOutbox, Staff, Ticket
from crm.types import utcnow
from integrations import inbox_erasure, inbox_live
from integrations.relay_pacing import SlackThreadLane, retry_after

log = logging.getLogger("crm.inbox")

POLL_SECONDS = 2.0
# a delivery round starts at most this often: every stored batch of customer messages wakes the relay (~80
# times a second under a burst), and each round re-reads what is due, over the whole waiting backlog. Rounds
# woken meanwhile are one, a little later (Slack's pace is a post a second per channel anyway)
MIN_ROUND_SECONDS = 0.1
# between full looks at what is due (every pending row: its cost grows with a burst's backlog), a round reads
# only the rows queued since the last look (outbox.due_since). A full look, which finds the rest (retries come
# due, rows given back, a row committed out of id order), is the first round at least this long after the
# last one; a round runs on a wake or every POLL_SECONDS, so with nothing waking the relay such a row waits
# up to POLL_SECONDS (2 s), plus the round itself
FULL_LOOK_SECONDS = 1.0
PARALLEL_GROUPS = 16


class Blocked(Exception):
    """The customer blocked the bot: nothing will get through until they unblock it."""


class Undeliverable(Exception):
    """A permanent refusal (chat not found, message rejected): retrying will not help."""


def ticket_buttons(ticket_id: int, lang: str = "en") -> list[Button]:
    return [Button(gettext(lang, "Assign to me"), f"ticket assign #{ticket_id}"),
            Button(gettext(lang, "Resolve"), f"ticket resolve #{ticket_id}", style="primary"),
            Button(gettext(lang, "Reopen"), f"ticket reopen #{ticket_id}")]


def thread_card(session, ticket: Ticket, first: InboxOutbox | None, lang: str = "en") -> Reply:
    """The first message of a ticket's thread: who the customer is, and the thread's buttons; in the
    team's language (the business's: a shared channel has no one reader)."""
    def t(msgid: str, **values) -> str:
        return gettext(lang, msgid, **values)

    customer = session.get(Customer, ticket.customer_id)
    deals = session.exec(select(Deal).where(Deal.customer_id == customer.id,
                                            col(Deal.stage).in_(OPEN_DEAL_STAGES))).all()
    deal_text = (f"{len(deals)} · {money(sum(d.amount for d in deals), deals[0].currency, lang)} "
                 f"({', '.join(sorted(stage_label(s, lang) for s in {d.stage for d in deals}))})") if deals \
        else t("none")
    earlier = session.exec(select(Ticket).where(Ticket.customer_id == customer.id, Ticket.id < ticket.id)
                           .order_by(col(Ticket.id).desc())).all()
    fields = [(t("Customer"), f"{customer.name} (#{customer.id})"), (t("Company"), company_name(session, customer) or "—"),
              (t("Tier"), tier_label(customer.tier, lang)), (t("Owner"), owner_label(session, customer, lang)),
              (t("Open deals"), deal_text),
              ("Telegram", f"@{customer.telegram_username}" if customer.telegram_username else t("linked")),
              (t("Language"), language_name("zh" if customer.language == "zh" else "en"))]
    if earlier:
        rated = next((e.rating for e in earlier if e.rating), None)
        fields.append((t("Earlier tickets"), f"{len(earlier)}" + (t(" (last rating {rating}/5)", rating=rated)
                                                                   if rated else "")))
    reply = Reply(text=t("💬 Ticket #{id}: {name} wrote on Telegram", id=ticket.id, name=customer.name), fields=fields,
                  buttons=ticket_buttons(ticket.id, lang))
    if ticket.intent:
        fields.append((t("Understood"), understood_label(ticket, lang)))
    if first is not None:
        payload = json.loads(first.payload or "{}")
        reply.fields.append((t("Message") if first.kind == "message" else pgettext(lang, "internal note", "Note"),
                             payload.get("text", "")))
    reply.fields.append((t("Reply"), t("Answer in this thread to reply on Telegram; start with // for an internal note.")))
    return reply


class InboxRelay:
    def __init__(self, app, telegram):
        """``telegram`` has ``async send_to_customer(chat_id, kind, payload) -> str`` (a message id)."""
        self.app = app
        self.db = app.db
        self.telegram = telegram
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._sem: asyncio.Semaphore | None = None
        self._last_recovery = None
        self._full_look_at: float | None = None  # time.monotonic() of the last full look at what is due
        self._looked_to = 0  # rows up to this id were looked at
        # ticket threads go to Slack paced per channel, coalesced when customers outpace it
        self.threads = SlackThreadLane(self)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._sem = asyncio.Semaphore(PARALLEL_GROUPS)
        self._stopping = False
        self.app.engine.ports.customer_inbox = inbox_live.StaffThreads(self)
        self._task = asyncio.create_task(self._run(), name="inbox-relay")

    async def stop(self) -> None:
        """Finishes the sends in flight (a row is never left half-sent by a clean stop)."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        await self.threads.finish()

    def wake(self) -> None:
        """Thread-safe: something was queued; deliver now instead of at the next poll."""
        if self._loop is None or self._event is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # loop closed during shutdown
            pass

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._event.clear()
            started = loop.time()
            try:
                await self.drain()
            except Exception:
                log.exception("inbox relay: delivery round failed; retrying shortly")
            if self._stopping:
                break
            try:  # asyncio.timeout, not wait_for (3.11's drops a cancellation coming with the wake: see inbound.py)
                async with asyncio.timeout(POLL_SECONDS):
                    await self._event.wait()
            except TimeoutError:
                pass
            rest = started + MIN_ROUND_SECONDS - loop.time()
            if rest > 0 and not self._stopping:
                await asyncio.sleep(rest)

    # ------------------------------------------------------------ delivery

    async def drain(self) -> int:
        """Delivers every due row once; returns how many were sent."""
        due = await self.app.in_background(self._due)
        groups: OrderedDict[tuple, list[int]] = OrderedDict()
        for row_id, target, chat_id, ticket_id in due:
            if target == "slack" and ticket_id is not None:
                self.threads.start(ticket_id)  # a task per thread, paced (see relay_pacing)
                continue
            key = (target, chat_id) if target == "telegram" else (target, ticket_id)
            groups.setdefault(key, []).append(row_id)
        if not groups:  # every due row is a Slack thread's, delivered by its lane (most rounds under a burst)
            return 0
        # the first row of every chat and thread in one transaction: under load that is most rows
        heads = await self.app.in_background(self._claim, [ids[0] for ids in groups.values()])
        results = await asyncio.gather(*(self._deliver_group(ids, heads.get(ids[0])) for ids in groups.values()))
        return sum(results)

    async def _deliver_group(self, row_ids: list[int], head: InboxOutbox | None) -> int:
        sent = 0
        async with self._sem:
            for n, row_id in enumerate(row_ids):
                row = head if n == 0 else (await self.app.in_background(self._claim, [row_id])).get(row_id)
                if row is None or not await self._deliver(row):
                    break  # keep the chat's or thread's order: later rows wait for this one
                sent += 1
        return sent

    def _due(self) -> list[tuple]:
        now = utcnow()
        if self._last_recovery is None or now - self._last_recovery > outbox.SENDING.duration / 4:
            self._last_recovery = now
            with self.db.write_session() as s:
                outbox.release_lapsed(s, now=now)  # rows a crashed instance was sending: someone has to finish them
        with self.db.read_session() as s:
            if self._full_look_at is not None and time.monotonic() - self._full_look_at < FULL_LOOK_SECONDS:
                due, self._looked_to = outbox.due_since(s, now=now, after=self._looked_to)
                return due
            due, self._looked_to = outbox.due(s, now=now)
        self._full_look_at = time.monotonic()
        return due

    def _claim(self, row_ids: list[int]) -> dict[int, InboxOutbox]:
        """Takes those of ``row_ids`` still due with nothing unfinished before them in their chat or thread."""
        if not row_ids:
            return {}
        with self.db.write_session() as s:
            return outbox.claim_next(s, row_ids, now=utcnow(), holder=self.app.instance)

    async def _deliver(self, row: InboxOutbox) -> bool:
        """Sends one claimed row; False when it is to be tried again later (later rows wait)."""
        payload = json.loads(row.payload or "{}")
        if row.target == "slack" and self.app.engine.ports.team_inbox is None:
            # without Slack there is no team thread: the row is closed, the ticket itself is complete
            await self.app.in_background(self._give_up, row, "Slack is not configured", False)
            return True
        try:
            if row.target == "telegram":
                result = await self.telegram.send_to_customer(row.chat_id, row.kind, payload)
            elif row.kind == "erase":  # an erased customer's thread: its messages deleted (crm/erasure.py)
                result = await inbox_erasure.erase_thread(self.app.engine.ports.team_inbox, payload)
            else:
                result = await self._post_to_thread(row, payload)
        except Blocked:
            await self.app.in_background(self._blocked, row)
            self._count(row.target, "blocked")
            return True
        except Undeliverable as exc:
            await self.app.in_background(self._give_up, row, str(exc))
            self._count(row.target, "failed")
            return True
        except Exception as exc:  # network trouble, flood limits beyond the limiter's retries, Slack errors
            if row.target == "slack" and retry_after(exc) is not None:
                await self.threads.rate_limited(row, retry_after(exc))  # Slack's pace, not a failed attempt
                return False
            log.warning("inbox relay: row %s (%s %s) failed: %r", row.id, row.target, row.kind, exc)
            self._count(row.target, "retry")
            return await self.app.in_background(self._retry_later, row, repr(exc))
        await self.app.in_background(self._mark_sent, row, result)
        self._count(row.target, "sent", posted=True)
        return True

    def _count(self, target: str, outcome: str, posted: bool = False) -> None:
        metrics = metrics_of(self.app)
        if metrics is not None:
            metrics.record_relay(target, outcome)
            if posted:
                metrics.record_post(target)

    # outcomes: written only while this instance's claim holds (``outbox.settle``)
    def _mark_sent(self, row: InboxOutbox, result) -> None:
        with self.db.write_session() as s:
            outbox.mark_sent(s, [row], result=result, now=utcnow())

    def _retry_later(self, row: InboxOutbox, error: str) -> bool:
        with self.db.write_session() as s:
            if outbox.retry_later(s, row, error=error, now=utcnow()) == "failed":
                self._note_failure(s, row, f"⚠️ Not delivered after {row.attempts + 1} attempts ({error[:120]}).")
        return False

    def _give_up(self, row: InboxOutbox, reason: str, tell: bool = True) -> None:
        with self.db.write_session() as s:
            if outbox.fail(s, row, reason=reason) and tell:
                self._note_failure(s, row, f"⚠️ Not delivered: {reason[:200]}")
        self.wake()

    def _blocked(self, row: InboxOutbox) -> None:
        with self.db.write_session() as s:
            if outbox.fail(s, row, reason="blocked by the user"):
                customer = s.get(Customer, row.customer_id) if row.customer_id else None
                known = customer is not None and customer.telegram_blocked
                if customer is not None:
                    customer.telegram_blocked = True
                    s.add(customer)
                if row.kind == "message" or not known:
                    self._note_failure(s, row, "⛔ The customer has blocked the bot; not delivered.")
        self.wake()

    def _note_failure(self, session, row: InboxOutbox, text: str) -> None:
        """Failures of customer sends are told in the ticket's thread; failed thread posts are only logged."""
        if row.target != "telegram" or row.ticket_id is None:
            log.error("inbox relay: row %s (%s %s) given up: %s", row.id, row.target, row.kind, text)
            return
        ticket = session.get(Ticket, row.ticket_id)
        if ticket is not None and (ticket.slack_thread_ts or self.app.engine.ports.team_inbox is not None):
            quoted = json.loads(row.payload or "{}").get("text", "")
            outbox.to_thread(session, ticket, "note", text + (f"\n> {quoted[:300]}" if row.kind == "message" else ""))
        else:
            log.warning("inbox relay: row %s to chat %s: %s", row.id, row.chat_id, text)

    async def _post_to_thread(self, row: InboxOutbox, payload: dict) -> str:
        team_inbox = self.app.engine.ports.team_inbox
        ticket, card, channel, owner_slack = await self.app.in_background(self._thread_target, row)
        if ticket.slack_thread_ts:
            if row.kind in ("message", "edit"):  # the customer's words, files and edits (integrations/inbox_live.py)
                return await inbox_live.post_customer_message(self, ticket, row, payload)
            text = payload.get("text", "")
            if row.kind == "message":
                text = f"💬 {payload.get('author') or 'Customer'}: {text}"
            return await team_inbox.post(ticket.slack_channel, ticket.slack_thread_ts, Reply(text=text))
        if channel is None and owner_slack is None:
            raise Undeliverable("no SLACK_INBOX_CHANNEL and nobody (owner or admin) with a Slack id to DM")
        opened_channel, thread_ts = await team_inbox.open_thread(channel, owner_slack, card)
        await self.app.in_background(self._remember_thread, ticket.id, opened_channel, thread_ts)
        if row.kind == "message":  # the card shows the first message; its attachment follows in the thread
            await inbox_live.after_thread_opened(self, ticket.id, opened_channel, thread_ts, row, payload)
        return thread_ts

    def _thread_target(self, row: InboxOutbox):
        with self.db.session() as s:
            ticket = s.get(Ticket, row.ticket_id)
            if ticket is None:
                raise Undeliverable("the ticket no longer exists")
            card = None if ticket.slack_thread_ts else thread_card(s, ticket, row, self.app.settings.crm_language)
            customer = s.get(Customer, ticket.customer_id)
            owner = s.get(Staff, customer.owner_id) if customer.owner_id else None
            owner_slack = owner.slack_user_id if owner and owner.active and owner.slack_user_id else None
            if owner_slack is None:
                # unowned conversations go to the first admin until someone takes them
                admin = s.exec(select(Staff).where(Staff.role == "admin", col(Staff.active).is_(True),
                                                   col(Staff.slack_user_id).is_not(None)).order_by(Staff.id)).first()
                owner_slack = admin.slack_user_id if admin else None
            return ticket, card, self.app.settings.slack_inbox_channel or None, owner_slack

    def _remember_thread(self, ticket_id: int, channel: str, thread_ts: str) -> None:
        with self.db.write_session() as s:
            s.exec(update(Ticket).where(Ticket.id == ticket_id, col(Ticket.slack_thread_ts).is_(None))
                   .values(slack_channel=channel, slack_thread_ts=thread_ts))
