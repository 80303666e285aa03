"""Group commit: many small urgent units of work share one transaction.

Each Telegram update used to be a transaction of its own: a turn at SQLite's single writer,
``BEGIN IMMEDIATE``, a commit (a WAL append and its sync), and two thread hand-offs. Under a
burst the updates queued for the writer one by one, and the hand-offs, not the SQL, were most
of the CPU (bench/profile_summary.py on a load.py profile). Here, units that arrive while a
transaction is being written wait together, and the next transaction runs all of them, each
inside a SAVEPOINT of its own:

* a unit that fails rolls back its savepoint only; its caller gets the exception (Telegram
  gets a 500 and redelivers), the others commit;
* every caller is answered only after the shared COMMIT, so an acknowledged update is stored
  (a crash before the commit loses only unacknowledged work, which Telegram redelivers);
* a unit's exactly-once claim (``claim_event_in``) commits with its work, as before.

Nothing waits for a batch to fill: with no transaction in flight a unit starts at once, so a
lone update is as fast as before; batches form only when the writer is busy, which is when
they help. Units of one Telegram chat never share a batch (the adapter handles a chat's
updates one at a time), so their order is kept.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Callable

log = logging.getLogger("crm.db")

MAX_BATCH = 64  # bounds one transaction's time (and what one failed COMMIT sends back for redelivery)


class GroupCommit:
    def __init__(self, db, *, max_batch: int | None = None, urgent: bool = True, metrics=None):
        self.db = db
        self.max_batch = max_batch or MAX_BATCH  # bench/bench_telegram_ingest.py sets 1 for "before"
        self.urgent = urgent
        self.metrics = metrics
        self._waiting: list[tuple[Callable, tuple, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def run(self, work: Callable[..., Any], *args, **kwargs) -> Any:
        """``work(session, *args, **kwargs)`` in the next shared transaction; its result once that committed."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._waiting.append((functools.partial(work, **kwargs) if kwargs else work, args, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_batches(), name="group-commit")
        return await done

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
            try:
                outcomes = await asyncio.to_thread(self._commit, batch)
            except Exception as exc:  # the COMMIT (or BEGIN) failed: nobody's work is stored
                log.warning("group commit of %d unit(s) failed: %r", len(batch), exc)
                outcomes = [(False, exc)] * len(batch)
            if self.metrics is not None:
                self.metrics.observe_batch(len(batch))
            for (_, _, done), (ok, value) in zip(batch, outcomes):
                if done.done():  # the caller went away (client disconnected); the work stands
                    continue
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

    def _commit(self, batch) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with self.db.write_session(urgent=self.urgent) as session:
            for work, args, _ in batch:
                try:
                    with session.begin_nested():
                        outcomes.append((True, work(session, *args)))
                except Exception as exc:
                    outcomes.append((False, exc))
        return outcomes
