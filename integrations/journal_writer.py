"""The command journal's writes, batched: many acks and "answered" marks share one transaction.

A slash command is journaled before its ack (``crm/command_journal.py``). Written one by one,
each journal row was a transaction of its own (a turn at SQLite's single writer, a savepoint, an
ORM flush, a commit) and each "answered" mark another. Here (on ``integrations/batching.py``),
what arrives while a batch is being written waits for the next one, which journals every waiting
command with one INSERT and marks every waiting answer with one UPDATE, in one transaction:

* an ack is sent only after that COMMIT, so an acknowledged command is in the store;
* a failed batch fails every ack waiting on it (the adapter then runs those commands unjournaled,
  as it does when the store is down); the marks of a failed batch are tried again with the next;
* nothing waits for a batch to fill: with no batch in flight the first command is written at once.

Marks are not urgent (nobody is waiting on them), but they ride in the urgent acks' transactions
rather than taking turns of their own at the writer.
"""
from __future__ import annotations

import asyncio

from crm import command_journal as journal
from integrations.batching import Batcher

MAX_BATCH = 256  # journal rows and marks per transaction; bounds one transaction's time
MARK_RETRIES = 3  # tries of an "answered" mark whose batch failed


class JournalWriter:
    """The journal batches of one store (each event loop that writes gets batches of its own)."""

    def __init__(self, db, *, metrics=None, max_batch: int = MAX_BATCH):
        self.db = db
        self._batcher = Batcher(lambda batch: self._commit(batch), max_batch=max_batch, name="journal-writer",
                                retries=lambda item: MARK_RETRIES - 1 if isinstance(item, int) else 0,
                                on_batch=metrics.observe_batch if metrics is not None else None)

    @property
    def max_batch(self) -> int:
        return self._batcher.max_batch

    @max_batch.setter
    def max_batch(self, value: int) -> None:  # bench/bench_slack_ack_path.py sets 1 for "before"
        self._batcher.max_batch = value

    def pending(self) -> int:
        return self._batcher.pending()

    async def accept(self, command: journal.NewCommand) -> int | None:
        """Journals the command; its row id once committed, None when it was journaled before."""
        return await self._batcher.submit(command)

    def answered(self, command_id: int) -> asyncio.Future:
        """Marks the command answered in the next batch; the future is done once that committed."""
        return self._batcher.submit(command_id)

    def _commit(self, items: list[journal.NewCommand | int]) -> list[int | None]:
        """Items are commands to journal (their row id, or None) and ids to mark answered (None)."""
        accepts = [item for item in items if not isinstance(item, int)]
        with self.db.write_session(urgent=True) as session:
            journal.answered_many_in(session, [item for item in items if isinstance(item, int)])
            ids = iter(journal.accept_many_in(session, accepts) if accepts else [])
        return [None if isinstance(item, int) else next(ids) for item in items]
