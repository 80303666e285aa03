"""Group commit: many small urgent units of work share one transaction.

Each Telegram update used to be a transaction of its own: a turn at SQLite's single writer,
``BEGIN IMMEDIATE``, a commit (a WAL append and its sync), and two thread hand-offs. Under a
burst the updates queued for the writer one by one, and the hand-offs, not the SQL, were most
of the CPU (bench/profile_summary.py on a load.py profile). Here (on ``integrations/batching.py``),
units that arrive while a transaction is being written wait together, and the next transaction
runs all of them, each inside a SAVEPOINT of its own:

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

import functools
from typing import Any, Callable

from integrations.batching import Batcher, Failed

MAX_BATCH = 64  # bounds one transaction's time (and what one failed COMMIT sends back for redelivery)


class GroupCommit:
    def __init__(self, db, *, max_batch: int | None = None, urgent: bool = True, metrics=None):
        self.db = db
        self.urgent = urgent
        self._batcher = Batcher(lambda batch: self._commit(batch), max_batch=max_batch or MAX_BATCH, name="group-commit",
                                on_batch=metrics.observe_batch if metrics is not None else None)

    async def run(self, work: Callable[..., Any], *args, **kwargs) -> Any:
        """``work(session, *args, **kwargs)`` in the next shared transaction; its result once that committed."""
        return await self._batcher.submit((functools.partial(work, **kwargs) if kwargs else work, args))

    def _commit(self, units: list[tuple[Callable, tuple]]) -> list[Any]:
        outcomes: list[Any] = []
        with self.db.write_session(urgent=self.urgent) as session:
            for work, args in units:
                try:
                    with session.begin_nested():
                        outcomes.append(work(session, *args))
                except Exception as exc:
                    outcomes.append(Failed(exc))
        return outcomes
