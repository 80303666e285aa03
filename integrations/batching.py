"""One batching primitive for the writers that share transactions: whatever arrives while a batch is
being written waits for the next one, and each batch is one call.

Three writers used to carry their own copy of the same skeleton (a waiting list, a writer task,
futures resolved after the commit): the group commit of Telegram updates (``group_commit.py``),
the command journal (``journal_writer.py``) and the raw Telegram inbound queue. ``Batcher`` is
that skeleton once:

* ``submit(item)`` queues an item and returns a future; the writer task of the caller's event loop
  takes up to ``max_batch`` waiting items, in arrival order, and runs ``commit(items)`` once for
  them (in a thread by default: the store's writer blocks);
* ``commit`` returns one outcome per item, in order: a value (the item's result) or ``Failed(exc)``
  (that item alone failed; the others stand). When ``commit`` raises, nothing of the batch was
  stored and every item of it fails with that exception, except items that may be retried
  (``retries``), which go back to the front of the queue;
* nothing waits for a batch to fill: with no batch in flight the first item is written at once,
  so a lone item is as fast as a direct write; batches form only while the writer is busy;
* a caller that went away (its future cancelled) does not stop the batch; its item stands;
* each event loop gets its own queue and writer task (futures belong to one loop: the app has one,
  tests also drive the writers from loops of their own); ``drain()`` waits until everything queued
  on the current loop is resolved, ``close()`` drains and refuses new items.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

log = logging.getLogger("crm.db")

Item = TypeVar("Item")


@dataclass(frozen=True)
class Failed:
    """``commit``'s outcome for an item that failed on its own (the others of its batch stand)."""

    error: BaseException


class Closed(RuntimeError):
    """Submitted after ``close()``."""


@dataclass
class _Entry(Generic[Item]):
    item: Item
    done: asyncio.Future
    tries: int = 0


class _Lane:
    """One event loop's waiting items and writer task."""

    def __init__(self):
        self.waiting: deque[_Entry] = deque()
        self.task: asyncio.Task | None = None
        self.idle = asyncio.Event()
        self.idle.set()
        self.closed = False


class Batcher(Generic[Item]):
    """Batches of items, one ``commit(items) -> outcomes`` call each (see the module docstring).

    ``max_batch``: items per call (bounds one transaction's time); may be changed at any time.
    ``retries(item)``: how many more times an item may be put back when its whole batch failed
    (default: never); when only such items are left, the next try waits ``retry_delay`` seconds.
    ``run``: how ``commit`` is called (default: ``asyncio.to_thread``).
    ``on_batch(n)``: told the size of every committed batch, before its callers' futures are resolved
    (metrics, and a consumer's wake-up: the Telegram inbound processor's)."""

    def __init__(self, commit: Callable[[list[Item]], Sequence[Any]], *, max_batch: int, name: str = "batcher",
                 retries: Callable[[Item], int] | None = None, retry_delay: float = 0.5,
                 run: Callable | None = None, on_batch: Callable[[int], None] | None = None):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.commit = commit
        self.max_batch = max_batch
        self.name = name
        self.retries = retries
        self.retry_delay = retry_delay
        self.run = run or asyncio.to_thread
        self.on_batch = on_batch
        self._lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lane] = weakref.WeakKeyDictionary()

    # ---- callers ------------------------------------------------------------------------------
    def submit(self, item: Item) -> asyncio.Future:
        """Queues ``item``; the future gets its outcome once its batch is committed."""
        loop = asyncio.get_running_loop()
        lane = self._lane(loop)
        if lane.closed:
            raise Closed(f"{self.name} is closed")
        done = loop.create_future()
        lane.waiting.append(_Entry(item, done))
        lane.idle.clear()
        if lane.task is None or lane.task.done():
            lane.task = loop.create_task(self._write(lane), name=self.name)
        return done

    async def __call__(self, item: Item) -> Any:
        """``submit`` and wait: the item's result, or its failure raised."""
        return await self.submit(item)

    def pending(self) -> int:
        """Items waiting for a batch, on every loop (for /metrics)."""
        return sum(len(lane.waiting) for lane in list(self._lanes.values()))

    async def drain(self) -> None:
        """Returns once everything queued on this loop has been committed (or has failed)."""
        lane = self._lanes.get(asyncio.get_running_loop())
        if lane is not None:
            await lane.idle.wait()

    async def close(self) -> None:
        """Drains this loop's queue, then refuses new items on it."""
        lane = self._lane(asyncio.get_running_loop())
        lane.closed = True
        await lane.idle.wait()

    # ---- the writer task ----------------------------------------------------------------------
    def _lane(self, loop: asyncio.AbstractEventLoop) -> _Lane:
        lane = self._lanes.get(loop)
        if lane is None:
            lane = self._lanes[loop] = _Lane()
        return lane

    async def _write(self, lane: _Lane) -> None:
        try:
            while lane.waiting:
                if all(entry.tries for entry in lane.waiting):
                    await asyncio.sleep(self.retry_delay)  # only retries left: do not spin on a store that is down
                batch = [lane.waiting.popleft() for _ in range(min(self.max_batch, len(lane.waiting)))]
                try:
                    outcomes = await self.run(self.commit, [entry.item for entry in batch])
                    if len(outcomes) != len(batch):
                        raise RuntimeError(f"{self.name}: {len(outcomes)} outcome(s) for {len(batch)} item(s)")
                except Exception as exc:  # BEGIN, a statement or the COMMIT failed: nothing of the batch stands
                    log.warning("%s: batch of %d item(s) failed: %r", self.name, len(batch), exc)
                    self._failed(lane, batch, exc)
                    continue
                if self.on_batch is not None:
                    self.on_batch(len(batch))
                for entry, outcome in zip(batch, outcomes):
                    if entry.done.done():  # the caller went away (e.g. a client disconnected); the item stands
                        continue
                    if isinstance(outcome, Failed):
                        entry.done.set_exception(outcome.error)
                    else:
                        entry.done.set_result(outcome)
        finally:
            if not lane.waiting:
                lane.idle.set()

    def _failed(self, lane: _Lane, batch: list[_Entry], exc: Exception) -> None:
        again = []
        for entry in batch:
            if self.retries is not None and entry.tries < self.retries(entry.item) and not entry.done.done():
                entry.tries += 1
                again.append(entry)
            elif not entry.done.done():
                entry.done.set_exception(exc)
        lane.waiting.extendleft(reversed(again))  # back in front, in their order
