"""Webhook updates: stored in one group commit before the 200, processed in batches after (issue 17).

``InboundWriter``: the webhook hands it the raw update; updates arriving while a commit is in
flight wait together and go into the next one (``crm.telegram_inbound.append``, one
``executemany``). Each request is answered once the commit holding its update is durable, so
"acknowledged" means stored; a failed commit answers 500 and Telegram redelivers.

``InboundProcessor``: one task per instance drains ``telegram_inbound`` in arrival order.
Each round reads a batch (on SQLite without the write lock; on PostgreSQL, where several instances
share the queue, it claims it: ``telegram_inbound.claim`` leases whole chats' rows to this instance,
so each instance parses and stores only its own share and a chat's order holds across them), parses every update with python-telegram-bot (the parser
of record) and reads the customers' messages (crm/understanding) outside any transaction, then in
one write transaction stores the plain customer messages with a few statements on the DBAPI cursor
(``crm.inbox.batch``) and marks them processed. Everything else (commands, new chats, buttons,
staff, edits …) is leased and handed to the adapter's usual per-update path
(``TelegramAdapter.process``), one task per update behind its chat's lock, and marked processed
once that is committed; its update-id claim makes a repeat after a crash harmless.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import Counter
from typing import Callable

from sqlalchemy import select
from telegram import Update

from bot.metrics import metrics_of
from crm import telegram_inbound
from crm.inbox import batch as inbound_batch
from crm.erasure import chat_key, compact_store
from crm.models import ErasedChat
from crm.types import utcnow
from integrations.batching import Batcher
from integrations.telegram.updates import is_int64, loads_update, note_unparseable

log = logging.getLogger("crm.telegram")

KEEP_PARSED = 20_000  # parsed updates kept in memory for the processor; beyond that it parses the stored text
APPEND_BATCH = 500  # updates per ack commit (bounds what one failed COMMIT sends back for redelivery)
PROCESS_BATCH = 200  # rows per processing round (bounds one write transaction's length)
# the round's parsing yields to the event loop (the webhook's requests) once it has run this long: a count
# of updates between yields (4) made a turn of the loop every ~40 µs of plain-text parsing
YIELD_SECONDS = 0.001
# messages read between two yields: read together (crm.understanding.intent.read_messages) ~50 µs each, ~1 ms
READ_EVERY = 16
IDLE_POLL = 1.0  # seconds between looks at the table when nothing woke the processor (another instance's rows)
PRUNE_EVERY = 3600.0


def chat_of(data: dict) -> int | None:
    """The chat an update belongs to, from its raw JSON (rows of one chat keep their order)."""
    for kind in ("message", "edited_message", "my_chat_member"):
        part = data.get(kind)
        if isinstance(part, dict) and isinstance(part.get("chat"), dict):
            chat = part["chat"].get("id")
            return chat if is_int64(chat) else None
    query = data.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat = message["chat"].get("id")
            return chat if is_int64(chat) else None
        user = query.get("from")
        if isinstance(user, dict) and is_int64(user.get("id")):
            return user["id"]  # private chats have the user's id
    return None


class InboundWriter:
    """Group commit of raw updates: many webhook requests, one transaction (on integrations/batching.py).
    ``on_stored()``: called after each committed batch (the processor's wake-up: once a batch, not an update)."""

    def __init__(self, db, metrics=None, on_stored: Callable[[], None] | None = None):
        self.db = db
        self.metrics = metrics
        self.on_stored = on_stored
        self._batcher = Batcher(self._commit, max_batch=APPEND_BATCH, name="telegram-inbound-writer",
                                on_batch=self._committed)
        self.parsed: dict[int, dict] = {}  # update id → its JSON, until the processor takes it

    def submit(self, update_id: int, chat_id: int | None, body: str, data: dict | None = None) -> asyncio.Future:
        """A future resolved once the update is durably stored (or was already); failed when the commit failed.
        ``data``: the body already parsed, kept for this instance's processor (it need not parse it again)."""
        if data is not None:
            if len(self.parsed) >= KEEP_PARSED:  # redeliveries of processed updates are never taken: start afresh
                self.parsed.clear()
            self.parsed[update_id] = data
        return self._batcher.submit((update_id, chat_id, body))

    def _committed(self, n: int) -> None:
        if self.metrics is not None:
            self.metrics.observe_batch(n)
        if self.on_stored is not None:
            self.on_stored()

    def _commit(self, rows) -> list[None]:
        """One transaction for the batch: all stored, or (raising) none, and each caller answers 500."""
        with self.db.write_connection(urgent=True) as conn:  # Telegram waits on this for its 200
            telegram_inbound.append(conn, rows)
        return [None] * len(rows)


class InboundProcessor:
    def __init__(self, adapter):
        self.adapter = adapter
        self.db = adapter.db
        # PostgreSQL: several instances may share the queue, so each claims whole chats' rows before handling
        # them; SQLite: one process per store, which reads without claiming
        self.claims = self.db.dialect == "postgresql"
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._inflight: Counter = Counter()  # chats with updates being handled one by one, here
        self._singles: set[asyncio.Task] = set()
        self._pruned_at = 0.0
        self._claimed: list[int] = []  # PostgreSQL: rows this round claimed, given back if it fails
        self._next: tuple[list, set[int]] | None = None  # SQLite: the next round's rows, read by this one's write

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-inbound")

    async def stop(self) -> None:
        for task in [self._task, *self._singles]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._singles]:
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._task = None
        self._next = None  # read before the stop: a restarted processor reads afresh
        # the rows of a round cut short: another instance goes on with them at once. Not the updates handed
        # to be handled one by one: a cancelled one's work may still be running on a thread (it lapses instead)
        await asyncio.to_thread(self._release, self._claimed)
        self._claimed = []

    def wake(self) -> None:
        self._wake.set()

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> None:
        if not self.claims:
            # one process uses a SQLite store: leases still standing are its previous process's, dead now
            await asyncio.to_thread(self._release_all)
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                singles, queued, erased, full = await self._round(frozenset(self._inflight))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("telegram: processing stored updates failed; trying again in 1 s")
                self._next = None
                await asyncio.to_thread(self._release, self._claimed)
                self._claimed = []
                await asyncio.sleep(1)
                continue
            self._claimed = []
            if queued:
                self.adapter.wake()
            if erased:
                await asyncio.to_thread(compact_store, self.db.engine)
            for row, update in singles:
                self._inflight[row.chat_id] += 1
                task = asyncio.create_task(self._single(row, update), name=f"telegram-update-{row.update_id}")
                self._singles.add(task)
                task.add_done_callback(self._singles.discard)
            if loop.time() - self._pruned_at > PRUNE_EVERY:
                self._pruned_at = loop.time()
                await asyncio.to_thread(self._prune)
            if full or self._next is not None:  # (SQLite) the write read rows acknowledged meanwhile
                await asyncio.sleep(0)  # let the webhook's requests in between rounds
                continue
            # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancellation (stop()) that comes in the
            # turn the wake does, and the loop then ran on with stop() waiting for it
            try:
                async with asyncio.timeout(IDLE_POLL):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _round(self, inflight: frozenset) -> tuple[list, bool, bool, bool]:
        """One batch: (updates to handle one by one, whether sends were queued, whether an erased customer's
        late update was dropped, whether the batch was full).

        Parsing and reading (pure Python, ~1 ms an update) run here on the event loop, a few updates at a
        time between yields, not on a worker thread: a worker thread busy with them holds the GIL for
        its whole switch interval at a time, and the webhook's requests on the loop waited behind it
        (acks were slow while the server's CPU was not even busy). Store reads and writes run on a thread."""
        rows = held = None
        more = False  # whether more came meanwhile: this round's write reads them (``_next``)
        if self._next is not None:  # read at the end of the previous round's write (SQLite)
            (rows, held), self._next = self._next, None
            if not self._actionable(rows, held, inflight):
                # read before this loop turn cleared the wake: rows acknowledged since (their wake spent) and a
                # single of a held chat finished since are not in it. A fresh read sees both
                rows = None
        if rows is None:
            rows, held, more = await asyncio.to_thread(self._pending)
            # rows that all wait for another update of their chat (held, e.g. a failed one's retry) would only be
            # read again at once, round after round: they wait for a wake or the poll, as a short read does
            if not self._actionable(rows, held, inflight):
                return [], False, False, False
        parsed: dict[int, Update] = {}
        unparsed: dict[int, dict] = {}
        done, singles, messages = [], [], []
        deferred: list[int] = []  # PostgreSQL: claimed rows given back, to be claimed after their chat's single
        waiting = set(inflight)  # chats whose earlier updates are in hand: theirs queue behind them
        clock = time.perf_counter
        slice_end = clock() + YIELD_SECONDS
        for row in rows:
            if clock() >= slice_end:
                await asyncio.sleep(0)  # the webhook's requests go in between
                slice_end = clock() + YIELD_SECONDS
            if row.chat_id in held and row.chat_id not in inflight:
                continue  # another instance holds an earlier update of this chat
            if self.claims and row.chat_id is not None and row.chat_id in waiting:
                # an earlier update of this chat goes one by one (a new chat's first message makes its lead):
                # this one is claimed again after it, most likely a plain message of an open ticket by then,
                # for a batch, instead of queueing behind it one by one through the ORM path (in a burst of
                # new chats nearly every update went that way, ~10x slower: bench/load_scaling.py)
                deferred.append(row.id)
                continue
            data = self._data(row)
            if data is None:
                done.append(row.id)
                continue
            # the bulk, plain text, read from the JSON as it is (PTB's reading of it, without its objects)
            message = self.adapter.customers.plain_text_message(data, row.id)
            if message is not None and message.chat_id not in waiting:
                messages.append(message)
                unparsed[row.id] = data  # parsed only if the batch store hands it back
                continue
            update = self._parse(data)
            if update is None:
                done.append(row.id)
                continue
            chat = update.effective_chat
            if chat is None or chat.type != "private":
                done.append(row.id)  # groups and channels are not an inbox
                continue
            parsed[row.id] = update
            try:
                message = self.adapter.customers.plain_message(update, row.id) if chat.id not in waiting else None
            except Exception:  # whatever it is, the per-update path decides (and logs) it
                message = None
            if message is None:
                singles.append(row)
                waiting.add(chat.id)
            else:
                messages.append(message)
        for start in range(0, len(messages), READ_EVERY):
            inbound_batch.read_all(messages[start:start + READ_EVERY])
            await asyncio.sleep(0)
        by_id = {row.id: row for row in rows}
        outcome, kept = await asyncio.to_thread(self._store, messages, done, singles, waiting, by_id, deferred)
        singles = sorted([r for r in singles if r.id in kept] + [by_id[i] for i in outcome.single], key=lambda r: r.id)
        handed = []
        for row in singles:
            update = parsed.get(row.id) or self._parse(unparsed[row.id])
            if update is None:  # not expected (the plain reader takes only what PTB reads): nothing to do with it
                await asyncio.to_thread(self._settle, row, True)
                continue
            handed.append((row, update))
        return handed, outcome.queued, outcome.erased, more

    @staticmethod
    def _actionable(rows, held: set[int], inflight: frozenset) -> bool:
        """Whether any of ``rows`` can be handled now: not all wait for a held update of their chat."""
        return any(row.chat_id not in held or row.chat_id in inflight for row in rows)

    def _pending(self):
        """(rows to handle, chats held elsewhere whose rows must be skipped, whether more may be waiting)."""
        if self.claims:  # several instances may share the queue: claim our share
            with self.db.write_connection() as conn:
                rows, full = telegram_inbound.claim(conn, limit=PROCESS_BATCH, now=utcnow(), holder=self.holder)
                self._claimed = [r.id for r in rows]
            # none claimed: what is left is other instances' (they go on with it; a wake or the poll brings us back)
            return rows, set(), full and bool(rows)
        with self.db.engine.connect() as conn:  # a read: the writer is not held
            rows, held = telegram_inbound.pending(conn, limit=PROCESS_BATCH, now=utcnow())
            conn.rollback()
        return rows, held, len(rows) == PROCESS_BATCH

    def _store(self, messages, done, singles, waiting, by_id, deferred=()) -> tuple[inbound_batch.Outcome, set[int]]:
        """The batch's write transaction; if it fails, every message in it is handled one by one instead.
        Returns its outcome and the rows still ours to handle (the others were taken meanwhile)."""
        now = utcnow()
        chats = {row.id: row.chat_id for row in by_id.values()}
        try:
            return self._write(messages, done, singles, waiting, now, chats, deferred)
        except Exception:
            log.exception("telegram: storing a batch of %d messages failed; handling them one by one", len(messages))
            every = sorted(singles + [by_id[m.row_id] for m in messages], key=lambda r: r.id)
            outcome, kept = self._write([], done, every, set(), now, chats, deferred)
            outcome.single = [m.row_id for m in messages if m.row_id in kept]
            return outcome, kept

    def _write(self, messages, done, singles, waiting, now, chats: dict, deferred=()) -> tuple[inbound_batch.Outcome,
                                                                                                set[int]]:
        """``chats``: row id → chat id of every row of the round; ``deferred``: rows given back (PostgreSQL)."""
        ids = [m.row_id for m in messages] + done + [r.id for r in singles]
        with self.db.write_connection() as conn:
            if self.claims:
                # rows this instance claimed: no other instance takes the chats' locks (to claim) meanwhile,
                # and a row whose claim lapsed and was taken by another instance is theirs now
                telegram_inbound.lock_chats(conn, chats.values())
                still = telegram_inbound.held_by(conn, ids, holder=self.holder)
            else:
                # SQLite: one process uses the store (``_run`` lapses its leases at start on that ground), and
                # nothing else in it takes a row this round read (free rows; a single takes only its own
                # leased row): every row read is still pending. Were it not, the update-id claims written
                # with the work would still make a second handling a no-op.
                still = set(ids)
            messages = [m for m in messages if m.row_id in still]
            outcome = inbound_batch.store_messages(conn, messages, settings=self.adapter.settings,
                                                   relay=self.adapter.customers.relay_to_team, now=now,
                                                   handed_back=waiting)
            telegram_inbound.mark_processed(conn, outcome.done + [i for i in done if i in still], now=now)
            leased = [r.id for r in singles if r.id in still] + outcome.single
            if self.claims:  # of each chat only its first update goes one by one; the rest are claimed after it
                first, later, seen = [], [], set()
                for row_id in sorted(leased):
                    chat = chats.get(row_id)
                    if chat is not None and chat in seen:
                        later.append(row_id)
                    else:
                        first.append(row_id)
                        seen.add(chat)
                telegram_inbound.release(conn, later + list(deferred), holder=self.holder)
                leased, still = first, still - set(later)
                outcome.single = [i for i in outcome.single if i in still]
            telegram_inbound.lease(conn, leased, holder=self.holder, now=now)
            if not self.claims:
                # SQLite: the next round's rows, read here under the write lock instead of in a read transaction
                # of their own on another thread hop: under a stream they are those acknowledged meanwhile
                rows, held = telegram_inbound.pending(conn, limit=PROCESS_BATCH, now=utcnow())
                self._next = (rows, held) if rows else None
        return outcome, still

    def _data(self, row) -> dict | None:
        """The update's JSON: as the webhook parsed it (this instance's own recent updates), else the stored text."""
        data = self.adapter.inbound.parsed.pop(row.update_id, None)
        if data is not None:
            return data
        try:
            data = loads_update(row.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("telegram: stored update %s is not JSON; dropped", row.update_id)
            return None
        return data

    def _parse(self, data: dict) -> Update | None:
        try:
            return Update.de_json(data, self.adapter.application.bot)
        except Exception as exc:
            # an update Telegram sent that python-telegram-bot cannot read: a retry would fail the same way
            note_unparseable(data, exc, metrics_of(self.adapter.app))
            return None

    # ---------------------------------------------------------------- one by one

    async def _single(self, row, update: Update) -> None:
        try:
            try:
                ok = await self.adapter.process(update)
            except asyncio.CancelledError:
                raise
            except Exception:  # process() logs and counts its own failures; this is anything else
                log.exception("telegram: update %s failed", row.update_id)
                ok = False
            if await asyncio.to_thread(self._settle, row, ok):
                await asyncio.to_thread(compact_store, self.db.engine)
            # its chat's later rows can go now (PostgreSQL: claimable; SQLite: a round that read them while this
            # was in hand skips them as held): a look at the table, whatever this instance is waiting for
            self.wake()
        finally:
            self._inflight[row.chat_id] -= 1
            if self._inflight[row.chat_id] <= 0:
                del self._inflight[row.chat_id]

    def _settle(self, row, ok: bool) -> bool:
        """Marks a row handled on its own; True when its chat's customer was erased (so its raw copy,
        cleared now, must not linger in the WAL or free pages: the caller compacts the store)."""
        now = utcnow()
        with self.db.write_connection() as conn:
            if ok:
                telegram_inbound.mark_processed(conn, [row.id], now=now)
                return row.chat_id is not None and conn.execute(
                    select(ErasedChat.key).where(ErasedChat.key == chat_key("telegram", row.chat_id))).first() is not None
            else:
                telegram_inbound.failed(conn, row.id, holder=self.holder, now=now, attempts=row.attempts + 1,
                                        error="handling failed; see the log")
        return False

    def _release(self, ids: list[int]) -> None:
        """PostgreSQL: gives back claimed rows not finished."""
        if not ids or not self.claims:
            return
        try:
            with self.db.write_connection() as conn:
                telegram_inbound.release(conn, ids, holder=self.holder)
        except Exception:  # they lapse after the lease instead
            log.warning("telegram: giving back claimed updates failed; they lapse after the lease", exc_info=True)

    def _release_all(self) -> None:
        with self.db.write_connection() as conn:
            telegram_inbound.release_all(conn)

    def _prune(self) -> None:
        try:
            with self.db.write_connection() as conn:
                telegram_inbound.prune(conn, now=utcnow())
        except Exception:
            log.warning("telegram: pruning processed updates failed", exc_info=True)
