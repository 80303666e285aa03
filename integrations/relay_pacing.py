"""Customer conversations into Slack within Slack's own limits.

``chat.postMessage`` allows about one message per second per channel, with short bursts
(https://api.slack.com/methods/chat.postMessage#rate_limiting); beyond that Slack answers 429
with ``Retry-After``. When customers write faster than that — one busy chat, or many chats
landing in one inbox channel — single posts would queue for minutes. So:

* ``ChannelPacer`` spaces posts per channel (GCRA: a steady rate plus a small burst) and stops
  a channel for ``Retry-After`` seconds when Slack answers 429. The relay's pacer keeps its counts
  in the store (``StoreCells``, crm/inbox/pace.py), so every instance relaying into one channel
  shares one pace and one Retry-After: Slack's limit is per channel, not per instance;
* ``SlackThreadLane`` delivers one ticket thread's outbox rows: it waits for the channel's
  slot *before* claiming (a claim never sits for minutes, so crash recovery cannot mistake it
  for a dead instance's), and when it had to wait, it claims every text row that piled up in
  the thread meanwhile, in order, and posts them as one message (several when long). The
  rows are marked sent together, with the same Slack ts. Nothing is dropped, order is kept
  (only the first unfinished rows of a thread are ever taken, with a conditional UPDATE), and
  a row that is not plain text (a file, a card) goes alone through the relay's usual path.

Each thread is a task of its own, so a congested Slack channel never holds up Telegram
deliveries or other channels (the relay's round does not wait for it).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass

from sqlmodel import col, select

from bot.metrics import metrics_of
from crm.inbox import outbox, pace
from crm.inbox.links import add_links
from crm.models import InboxOutbox, Ticket
from crm.types import utcnow
from bot.replies import Reply
from integrations import inbox_live
from integrations.slack import blocks as kit

log = logging.getLogger("crm.inbox")

RATE_PER_CHANNEL = 1.0  # posts per second per channel (Slack's documented chat.postMessage limit)
# posts that may go at once before pacing starts; smaller than Slack's own allowance so that
# network jitter (a post arriving early behind a late one) never looks like a breach
BURST = 2
COALESCE_CHARS = 2000  # of customer text per combined post; Slack cuts a section at 3,000 (escaping grows text)
COALESCE_ROWS = 24  # a block or two each (notes may have a context line): Slack takes 50 blocks a message
RATE_LIMITED_TRIES = 5  # 429s in a row before the send counts as a failed attempt
BATCH_PART = "batch"  # RelayedMessage.part of a message that shares its Slack post with others
DM_CHANNELS = "direct-messages"  # threads opened in owners' DMs share one (conservative) pace
REST_SECONDS = 1.0  # a thread another instance is sending is looked at again after this long


class LocalCells:
    """The cell rate counts in this process only (a pacer of its own; the unit tests' fake clock)."""

    shared = False

    def __init__(self):
        self._tat: dict[str, float] = {}  # theoretical arrival time of the next post, per channel
        self._left: dict[str, float] = {}  # the same, counted on the moments posts actually left

    @staticmethod
    def _take(table: dict[str, float], channel: str, now: float, interval: float) -> float:
        tat = max(table.get(channel, now), now)
        table[channel] = tat + interval
        return tat

    def take_slot(self, channel: str, now: float, interval: float) -> tuple[float, float | None]:
        return self._take(self._tat, channel, now, interval), self._left.get(channel)

    def take_departure(self, channel: str, now: float, interval: float, conn=None) -> float:
        return self._take(self._left, channel, now, interval)

    def hold(self, channel: str, until: float) -> None:
        self._tat[channel] = max(self._tat.get(channel, until), until)

    def give_back(self, channel: str, now: float, interval: float) -> None:
        if channel in self._tat:
            self._tat[channel] = max(now, self._tat[channel] - interval)


class StoreCells:
    """The counts in the store (``relay_pace``, crm/inbox/pace.py): every instance shares them."""

    shared = True

    def __init__(self, db):
        self.db = db
        # SQLite: a step may run in the caller's write transaction (the lane's claim), one transaction fewer a
        # post. Not on PostgreSQL: there the channel's row would stay locked for that whole transaction
        self.joins_transactions = db.dialect != "postgresql"

    @contextmanager
    def _transaction(self):
        """Each step is one statement. On PostgreSQL it commits as it runs (autocommit): in a transaction,
        the channel's row stayed locked until this thread got the GIL back to send COMMIT, and every
        other instance's step waited that long (bench/load_scaling.py, 2 busy cores)."""
        if self.db.dialect != "postgresql":
            with self.db.write_connection() as conn:  # SQLite: its one writer, queued as every write is
                yield conn
            return
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def take_slot(self, channel: str, now: float, interval: float) -> tuple[float, float | None]:
        with self._transaction() as conn:
            return pace.take_slot(conn, channel=channel, now=now, interval=interval)

    def take_departure(self, channel: str, now: float, interval: float, conn=None) -> float:
        """``conn``: the caller's transaction to count it in (``joins_transactions``), else one of its own."""
        if conn is not None:
            return pace.take_departure(conn, channel=channel, now=now, interval=interval)
        with self._transaction() as conn:
            return pace.take_departure(conn, channel=channel, now=now, interval=interval)

    def hold(self, channel: str, until: float) -> None:
        with self._transaction() as conn:
            pace.hold(conn, channel=channel, until=until)

    def give_back(self, channel: str, now: float, interval: float) -> None:
        with self._transaction() as conn:
            pace.give_back(conn, channel=channel, now=now, interval=interval)


def wall_clock() -> float:
    """Epoch seconds: the one clock every instance sharing ``StoreCells`` reads alike."""
    return utcnow().timestamp()


class ChannelPacer:
    """Per-channel spacing of posts (generic cell rate algorithm) that honours Retry-After.

    ``cells``: where the counts live: this process (default), or ``StoreCells`` with ``wall_clock``,
    shared by every instance. With the store, each step is a short write run on a worker thread."""

    def __init__(self, rate: float | None = None, burst: int | None = None, clock=time.monotonic, cells=None):
        self.interval = 1.0 / (rate or RATE_PER_CHANNEL)
        self.tolerance = self.interval * max(0, (burst or BURST) - 1)
        self.clock = clock
        self.cells = cells or LocalCells()

    def reserve(self, channel: str) -> float:
        """Takes the channel's next slot; returns the seconds to wait for it (0: go now)."""
        now = self.clock()
        tat, left = self.cells.take_slot(channel, now, self.interval)
        # nor sooner than the posts that actually left allow (``spaced``): a wait here is what makes the
        # lane gather the rows that pile up meanwhile into one post
        return max(0.0, tat - self.tolerance - now, (now if left is None else left) - self.tolerance - now)

    def depart(self, channel: str, conn=None) -> float:
        """Counts a post leaving now; returns the seconds it must wait to conform (0: go now). ``conn``: a
        write transaction of the caller's to count it in, when ``departs_in_claims``."""
        now = self.clock()
        return max(0.0, self.cells.take_departure(channel, now, self.interval, conn=conn) - self.tolerance - now)

    @property
    def departs_in_claims(self) -> bool:
        """Whether a post's departure is counted in the transaction that claims its rows (``depart(…, conn)``)
        instead of a transaction of its own (``spaced``): with the counts in a SQLite store. (In this process
        they stay on the event loop, where every other step of theirs runs.)"""
        return getattr(self.cells, "joins_transactions", False)

    async def leave(self, wait: float) -> None:
        """``spaced``'s wait, once ``depart`` counted the post in the claim's transaction."""
        if wait > 0:
            await asyncio.sleep(wait)

    async def _step(self, method, *args):
        return await asyncio.to_thread(method, *args) if self.cells.shared else method(*args)

    async def slot(self, channel: str) -> float:
        wait = await self._step(self.reserve, channel)
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                # a stopping instance's queued lanes: their slots are given back, or (the count being the
                # store's) every instance would wait for slots nobody uses
                try:
                    await self.unused(channel)
                except Exception:  # the store is gone too: the slot lapses with time
                    log.warning("relay pace: giving back a slot of %s failed", channel, exc_info=True)
                raise
        return wait

    async def spaced(self, channel: str) -> None:
        """Right before a post goes out: the same rate and burst, counted on the moments posts leave.

        The slot is taken before the rows are claimed and drawn; on a busy machine that work can make
        one post late and the next ones on time, and they would reach Slack back to back, beyond the
        burst. Pacing the moments posts actually leave keeps them within it whatever delayed the first.
        """
        wait = await self._step(self.depart, channel)  # counted before sleeping: the next post queues behind
        if wait > 0:
            await asyncio.sleep(wait)

    def pause(self, channel: str, seconds: float) -> None:
        """Slack said 429: nothing more to this channel for ``seconds``; then one post at a time."""
        self.cells.hold(channel, self.clock() + seconds + self.tolerance)

    async def paused(self, channel: str, seconds: float) -> None:
        """``pause`` from the event loop (with the store, on a worker thread); every instance then waits."""
        await self._step(self.pause, channel, seconds)

    async def unused(self, channel: str) -> None:
        """A slot taken (``slot``) and not used: the thread had nothing left to claim (another instance
        took its rows meanwhile). Given back, so that a channel's pace is not spent on empty slots: with
        the pace shared, two instances' lanes for one thread each took one."""
        await self._step(self.cells.give_back, channel, self.clock(), self.interval)


def retry_after(exc: BaseException) -> float | None:
    """Seconds Slack asked us to wait when ``exc`` is a 429 (slack_sdk's SlackApiError), else None."""
    response = getattr(exc, "response", None)
    if getattr(response, "status_code", None) != 429:
        return None
    headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, float(value))
    except (TypeError, ValueError):
        return 1.0


def _payload(row: InboxOutbox) -> dict | None:
    """The row's payload, None when it is not a JSON object."""
    try:
        payload = json.loads(row.payload or "{}")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _coalescable(kind: str, payload: dict | None) -> bool:
    """Whether a row of ``kind`` with ``payload`` (``_payload``) may share a post: a customer's plain message
    (no file: its upload follows its own post; no forward or reply line), or a plain note of ours (e.g. what
    a message was understood as). Edits and cards go alone."""
    if payload is None:
        return False
    if kind == "note":
        return set(payload) <= {"text", "author"}
    return kind == "message" and not payload.get("media") and not payload.get("context")


def drawn(row: InboxOutbox, payload: dict) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of one row inside a shared post, as it would look alone."""
    if row.kind == "note":
        return kit.render(Reply(text=payload.get("text", "")))
    return inbox_live.thread_rich_text(payload)


def telegram_links(rows: list[InboxOutbox], payloads: list[dict]) -> list[tuple[int | None, int, int]]:
    """(interaction, Telegram chat, Telegram message) of each row that names its Telegram message; a row
    whose payload does not (or not as whole numbers) has none."""
    links = []
    for row, payload in zip(rows, payloads):
        telegram = payload.get("telegram")
        if not isinstance(telegram, dict):
            continue
        chat_id, message_id = telegram.get("chat_id"), telegram.get("message_id")
        if isinstance(chat_id, int) and isinstance(message_id, int) and message_id:
            links.append((row.interaction_id, chat_id, message_id))
    return links


@dataclass
class Target:
    ticket_id: int
    channel: str | None  # the thread's channel once open
    thread_ts: str | None

    @property
    def pace_key(self) -> str:
        return self.channel or DM_CHANNELS


class SlackThreadLane:
    """Delivers ticket threads' rows to Slack: one task per thread, paced per channel."""

    def __init__(self, relay, pacer: ChannelPacer | None = None):
        self.relay = relay
        self.app = relay.app
        self.db = relay.db
        # one pace per channel for every instance sharing the store (Slack counts per channel)
        self.pacer = pacer or ChannelPacer(clock=wall_clock, cells=StoreCells(self.db))
        self._busy: dict[int, asyncio.Task] = {}
        self._pacing: set[int] = set()  # lanes waiting for their channel's next slot, holding no row
        # threads whose first row another instance holds (or that wait for a retry): every stored update
        # wakes the relay, and re-reading them on each wake took a third of an instance's CPU when two
        # instances shared a burst (bench/load_scaling.py). That instance goes on with the thread itself.
        self._resting: dict[int, float] = {}

    def busy(self, ticket_id: int) -> bool:
        return ticket_id in self._busy

    def start(self, ticket_id: int) -> None:
        """Starts delivering this ticket's thread unless it already is being delivered (here, or by
        another instance: then it is looked at again only after ``REST_SECONDS``)."""
        if ticket_id in self._busy:
            return
        resting = self._resting.get(ticket_id)
        if resting is not None:
            if time.monotonic() < resting:
                return
            del self._resting[ticket_id]
        task = asyncio.create_task(self._run(ticket_id), name=f"inbox-thread-{ticket_id}")
        self._busy[ticket_id] = task

    async def finish(self, timeout: float = 15) -> None:
        """Lets posts in flight complete (a clean stop never leaves a row half-sent)."""
        for ticket_id in list(self._pacing):  # nothing claimed yet: the next instance or start takes it up
            task = self._busy.get(ticket_id)
            if task is not None:
                task.cancel()
        tasks = list(self._busy.values())
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()

    # ---- one thread --------------------------------------------------------------------------
    async def _run(self, ticket_id: int) -> None:
        sent = 0
        try:
            limited = 0
            while not self.relay._stopping:
                target = await self.app.in_background(self._target, ticket_id)
                if target is None:
                    if not sent:
                        self._resting[ticket_id] = time.monotonic() + REST_SECONDS
                    break
                if self.app.engine.ports.team_inbox is None or target.thread_ts is None:
                    # no Slack, or the thread is not open yet: the first row opens it, alone. The slot
                    # comes before the claim, as below: a claimed row never waits for the pace (a
                    # queue of new threads in one channel can be minutes long, longer than STALE, after
                    # which another instance would take the row over and open the thread twice)
                    # inside this branch: Slack's pace applies exactly when there is a Slack inbox
                    paced = self.app.engine.ports.team_inbox is not None
                    if paced:
                        self._pacing.add(ticket_id)
                        try:
                            await self.pacer.slot(target.pace_key)
                        finally:
                            self._pacing.discard(ticket_id)
                    rows, leave = await self._take(ticket_id, False, target.pace_key if paced else None)
                    if not rows:
                        if paced:
                            await self.pacer.unused(target.pace_key)
                        break
                    if paced:
                        await leave()
                    if not await self.relay._deliver(rows[0]):
                        break
                    sent += 1
                    continue
                self._pacing.add(ticket_id)
                try:
                    waited = await self.pacer.slot(target.pace_key)
                finally:
                    self._pacing.discard(ticket_id)
                # only when Slack's pace made us wait do rows share a post: a quiet chat reads as typed
                rows, leave = await self._take(ticket_id, waited > 0, target.pace_key)
                if not rows:
                    await self.pacer.unused(target.pace_key)
                    break
                await leave()
                if len(rows) == 1:  # alone: the relay's own path (formatting, links for edits, files)
                    if not await self.relay._deliver(rows[0]):
                        break
                    sent += 1
                    continue
                outcome = await self._post(target, rows)
                if outcome == "rate-limited":
                    limited += 1
                    if limited < RATE_LIMITED_TRIES:
                        continue
                    await self.app.in_background(self.relay._retry_later, rows[0], "Slack rate limit (429)")
                    break
                limited = 0
                if outcome != "sent":
                    break
                sent += len(rows)
        except Exception:
            log.exception("inbox relay: thread of ticket %s failed; retrying next round", ticket_id)
        finally:
            self._busy.pop(ticket_id, None)
            if sent:
                self.relay.wake()  # rows that arrived meanwhile

    async def _take(self, ticket_id: int, coalesce: bool, channel: str | None):
        """The claim (``_claim``) and, for a paced post (``channel``), what makes it wait for its departure:
        (rows, an awaitable to call right before posting). Where the pacer allows it, the departure is counted
        in the claim's own transaction: one write transaction a post fewer on SQLite."""
        if channel is not None and self.pacer.departs_in_claims:
            rows, wait = await self.app.in_background(self._claim_leaving, ticket_id, coalesce, channel)
            return rows, lambda: self.pacer.leave(wait)
        rows = await self.app.in_background(self._claim, ticket_id, coalesce)
        return rows, (lambda: self.pacer.spaced(channel)) if channel is not None else None

    async def _post(self, target: Target, rows: list[InboxOutbox]) -> str:
        """One post for ``rows`` (consecutive plain messages of the thread), each drawn as it would be
        alone (inbox_live.thread_rich_text): 'sent', 'rate-limited' or 'failed'."""
        payloads = [json.loads(row.payload or "{}") for row in rows]
        parts = [drawn(row, payload) for row, payload in zip(rows, payloads)]
        text = inbox_live.kit_clip("\n".join(fallback for fallback, _ in parts), 3000)
        blocks = [block for _, row_blocks in parts for block in row_blocks]
        # which Telegram message each row was (an edit of one of them is posted anew, not over the whole post):
        # read before posting, so that nothing about them can fail once the post is in Slack
        links = telegram_links(rows, payloads)
        metrics = metrics_of(self.app)
        try:
            ts = await self.app.engine.ports.team_inbox.post_blocks(target.channel, target.thread_ts, text, blocks)
        except Exception as exc:
            wait = retry_after(exc)
            await self.app.in_background(self._release, rows[1:] if wait is None else rows)
            if wait is not None:
                log.info("Slack rate limit on %s: waiting %.0f s", target.channel, wait)
                await self.pacer.paused(target.pace_key, wait)
                if metrics is not None:
                    metrics.record_rate_limited("slack", "chat.postMessage")
                return "rate-limited"
            log.warning("inbox relay: thread post of %d row(s) for ticket %s failed: %r", len(rows),
                        target.ticket_id, exc)
            await self.app.in_background(self.relay._retry_later, rows[0], repr(exc))
            if metrics is not None:
                metrics.record_relay("slack", "retry")
            return "failed"
        await self.app.in_background(self._mark_sent, rows, ts, target, links)
        if metrics is not None:
            metrics.record_post("slack")
            metrics.record_relay("slack", "sent", len(rows))
        return "sent"

    async def rate_limited(self, row: InboxOutbox, wait: float) -> None:
        """Slack answered a post of ``row`` with 429 (after slack_sdk's own retries): the channel
        waits ``wait`` seconds and the row goes back, its attempts untouched."""
        target = await self.app.in_background(self._target, row.ticket_id, False) if row.ticket_id else None
        key = target.pace_key if target is not None else DM_CHANNELS
        log.info("Slack rate limit on %s: waiting %.0f s", key, wait)
        await self.pacer.paused(key, wait)
        await self.app.in_background(self._release, [row])
        metrics = metrics_of(self.app)
        if metrics is not None:
            metrics.record_rate_limited("slack", "chat.postMessage")

    # ---- the store (background threads) ------------------------------------------------------
    def _target(self, ticket_id: int, free_head: bool = True) -> Target | None:
        """Where the thread goes. With ``free_head``: None when its first unfinished row is not ours to
        take now (another instance is sending it, or it waits for its retry)."""
        with self.db.read_session() as s:
            if free_head:
                head = s.exec(select(InboxOutbox).where(InboxOutbox.target == "slack",
                                                        InboxOutbox.ticket_id == ticket_id,
                                                        col(InboxOutbox.status).in_(outbox.UNFINISHED))
                              .order_by(InboxOutbox.id).limit(1)).first()
                if head is None or not self._due(head, utcnow()):
                    return None
            ticket = s.get(Ticket, ticket_id)
            if ticket is None:
                return Target(ticket_id, None, None)  # the relay's path reports the missing ticket
            channel = ticket.slack_channel or self.app.settings.slack_inbox_channel or None
            return Target(ticket_id, channel, ticket.slack_thread_ts)

    def _claim(self, ticket_id: int, coalesce: bool) -> list[InboxOutbox]:
        """Claims the thread's first unfinished row, and with ``coalesce`` the text rows right after it
        that fit one post, in one transaction; [] when the first is not ours to take (being sent by
        someone, or waiting for its retry). All-or-nothing: a row taken meanwhile by another instance
        makes the whole claim roll back."""
        with self.db.write_session() as s:
            return self._claim_in(s, ticket_id, coalesce)

    def _claim_leaving(self, ticket_id: int, coalesce: bool, channel: str) -> tuple[list[InboxOutbox], float]:
        """``_claim``, and when rows were claimed their post's departure counted in the same transaction
        (``ChannelPacer.depart``; ``departs_in_claims``): (the rows, the seconds to wait before posting)."""
        with self.db.write_session() as s:
            rows = self._claim_in(s, ticket_id, coalesce)
            return rows, (self.pacer.depart(channel, conn=s.connection()) if rows else 0.0)

    def _claim_in(self, s, ticket_id: int, coalesce: bool) -> list[InboxOutbox]:
        now, me = utcnow(), self.app.instance
        waiting = s.exec(select(InboxOutbox).where(InboxOutbox.target == "slack", InboxOutbox.ticket_id == ticket_id,
                                                   col(InboxOutbox.status).in_(outbox.UNFINISHED))
                         .order_by(InboxOutbox.id).limit(COALESCE_ROWS if coalesce else 1)).all()
        if not waiting or not self._due(waiting[0], now):
            return []
        take = [waiting[0]]
        first = _payload(waiting[0]) if coalesce else None
        if _coalescable(waiting[0].kind, first):  # each payload read once (it was twice a row)
            size = len(first.get("text", ""))
            for row in waiting[1:]:
                payload = _payload(row) if self._due(row, now) else None
                if not _coalescable(row.kind, payload):
                    break
                size += len(payload.get("text", ""))
                if size > COALESCE_CHARS:
                    break
                take.append(row)
        if not outbox.claim_all(s, [row.id for row in take], now=now, holder=me):
            return []
        for row in take:
            row.status, row.claimed_by, row.claimed_at = "sending", me, now
        s.expunge_all()
        return take

    @staticmethod
    def _due(row: InboxOutbox, now) -> bool:
        if row.status != "pending":
            return False
        due = row.next_attempt_at
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=now.tzinfo)
        return due is None or due <= now

    def _mark_sent(self, rows: list[InboxOutbox], ts, target: Target, links: list[tuple[int | None, int, int]]) -> None:
        """The rows of one post sent, and ``links`` ((interaction, chat, Telegram message) of each) recorded in
        the same transaction (one a post), under a savepoint: the post is in Slack, so the rows are marked sent
        whatever happens to its links (an interaction erased meanwhile breaks their foreign key). Without the
        links, an edit of one of those messages is posted anew instead of updating the post: it does anyway."""
        with self.db.write_session() as s:
            outbox.mark_sent(s, rows, result=ts, now=utcnow())
            if not links:
                return
            try:
                with s.begin_nested():
                    add_links(s, ticket_id=target.ticket_id, direction="inbound", slack_channel=target.channel,
                              slack_ts=ts, messages=[(interaction_id, chat_id, message_id, BATCH_PART)
                                                     for interaction_id, chat_id, message_id in links])
            except Exception as exc:  # noqa: BLE001 - the links are a convenience; the post's outcome is not
                log.warning("inbox relay: the Telegram links of post %s (ticket %s) were not recorded: %r", ts,
                            target.ticket_id, exc)

    def _release(self, rows: list[InboxOutbox]) -> None:
        """Gives rows back untouched (no attempt counted): they go out with the thread's next post."""
        if not rows:
            return
        with self.db.write_session() as s:
            outbox.release(s, rows)
