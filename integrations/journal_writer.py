"""The command journal's writes, batched: many acks and "answered" marks share one transaction.

A slash command is journaled before its ack (``crm/command_journal.py``). Written one by one,
each journal row was a transaction of its own (a turn at SQLite's single writer, a savepoint, an
ORM flush, a commit) and each "answered" mark another. Here, what arrives while a batch is being
written waits for the next one, which journals every waiting command with one INSERT and marks
every waiting answer with one UPDATE, in one transaction:

* an ack is sent only after that COMMIT, so an acknowledged command is in the store;
* a failed batch fails every ack waiting on it (the adapter then runs those commands unjournaled,
  as it does when the store is down); the marks of a failed batch are tried again with the next;
* nothing waits for a batch to fill: with no batch in flight the first command is written at once.

Marks are not urgent (nobody is waiting on them), but they ride in the urgent acks' transactions
rather than taking turns of their own at the writer.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

from crm import command_journal as journal

log = logging.getLogger("crm.db")

MAX_BATCH = 256  # commands per INSERT; bounds one transaction's time
MARK_RETRIES = 3


class JournalWriter:
    """The batches of one store; each event loop that writes gets batches of its own (futures belong
    to one loop: the app has one, tests also drive the recovery from loops of their own)."""

    def __init__(self, db, *, metrics=None, max_batch: int = MAX_BATCH):
        self.db = db
        self.metrics = metrics
        self.max_batch = max_batch
        self._batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches] = weakref.WeakKeyDictionary()

    def _here(self) -> "_Batches":
        loop = asyncio.get_running_loop()
        batches = self._batches.get(loop)
        if batches is None:
            batches = self._batches[loop] = _Batches(self)
        return batches

    def pending(self) -> int:
        return sum(len(b.accepts) + len(b.marks) for b in list(self._batches.values()))

    async def accept(self, command: journal.NewCommand) -> int | None:
        """Journals the command; its row id once committed, None when it was journaled before."""
        batches = self._here()
        done = asyncio.get_running_loop().create_future()
        batches.accepts.append((command, done))
        batches.kick()
        return await done

    def answered(self, command_id: int) -> asyncio.Future:
        """Marks the command answered in the next batch; the future is done once that committed."""
        batches = self._here()
        done = asyncio.get_running_loop().create_future()
        batches.marks.append((command_id, done, 0))
        batches.kick()
        return done

    def _commit(self, accepts: list[journal.NewCommand], marks: list[int]) -> list[int | None]:
        with self.db.write_session(urgent=True) as session:
            journal.answered_many_in(session, marks)
            return journal.accept_many_in(session, accepts) if accepts else []


class _Batches:
    def __init__(self, writer: JournalWriter):
        self.writer = writer
        self.accepts: list[tuple[journal.NewCommand, asyncio.Future]] = []
        self.marks: list[tuple[int, asyncio.Future, int]] = []  # (command id, its future, tries so far)
        self.task: asyncio.Task | None = None

    def kick(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.write(), name="journal-writer")

    async def write(self) -> None:
        writer = self.writer
        while self.accepts or self.marks:
            accepts, self.accepts = self.accepts[:writer.max_batch], self.accepts[writer.max_batch:]
            marks, self.marks = self.marks, []
            try:
                ids = await asyncio.to_thread(writer._commit, [c for c, _ in accepts], [m for m, _, _ in marks])
            except Exception as exc:  # BEGIN, the INSERT or the COMMIT failed: nothing of the batch is stored
                log.warning("journal batch of %d command(s) and %d mark(s) failed: %r", len(accepts), len(marks), exc)
                for _, done in accepts:
                    if not done.done():
                        done.set_exception(exc)
                for command_id, done, tries in marks:
                    if tries + 1 < MARK_RETRIES:
                        self.marks.append((command_id, done, tries + 1))
                    elif not done.done():
                        done.set_exception(exc)
                if not self.accepts and self.marks:
                    await asyncio.sleep(0.5)  # only marks left to retry: do not spin on a store that is down
                continue
            if writer.metrics is not None:
                writer.metrics.observe_batch(len(accepts) + len(marks))
            for (_, done), command_id in zip(accepts, ids):
                if not done.done():  # else the caller went away (client disconnected); the row stands
                    done.set_result(command_id)
            for _, done, _ in marks:
                if not done.done():
                    done.set_result(None)
