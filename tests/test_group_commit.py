"""Group commit: units that arrive together share a transaction, and fail alone."""
from __future__ import annotations

import asyncio
import threading

from sqlmodel import select

from crm.events import claim_event_in
from crm.models import ProcessedEvent
from integrations.group_commit import GroupCommit


def claimed(db) -> set[str]:
    with db.session() as s:
        return set(s.exec(select(ProcessedEvent.event_id).where(ProcessedEvent.platform == "gc")).all())


async def test_units_arriving_together_share_transactions_and_a_failing_one_is_rolled_back_alone(db):
    group = GroupCommit(db, max_batch=8)
    transactions = []
    original = group._commit

    def counting(batch):
        transactions.append(len(batch))
        return original(batch)

    group._commit = counting

    def unit(session, n: int) -> int:
        assert claim_event_in(session, "gc", f"u{n}")
        if n == 3:
            raise ValueError("bad update")
        return n * 10

    outcomes = await asyncio.gather(*(group.run(unit, n) for n in range(20)), return_exceptions=True)
    assert [o for o in outcomes if not isinstance(o, Exception)] == [n * 10 for n in range(20) if n != 3]
    assert isinstance(outcomes[3], ValueError)
    assert claimed(db) == {f"u{n}" for n in range(20) if n != 3}  # the failed one's claim went with it
    assert sum(transactions) == 20 and len(transactions) < 20 and max(transactions) <= 8


async def test_a_redelivered_unit_in_the_same_batch_is_done_once(db):
    group = GroupCommit(db)

    def unit(session, key: str) -> bool:
        return claim_event_in(session, "gc", key)

    first, again = await asyncio.gather(group.run(unit, "same"), group.run(unit, "same"))
    assert sorted([first, again]) == [False, True]
    assert claimed(db) == {"same"}


async def test_a_failed_commit_fails_every_caller_and_stores_nothing(db, monkeypatch):
    group = GroupCommit(db)

    def unit(session, n: int) -> int:
        claim_event_in(session, "gc", f"c{n}")
        return n

    def broken_commit(batch):
        with db.write_session() as session:
            for work, args in batch:
                work(session, *args)
            raise OSError("disk I/O error")

    monkeypatch.setattr(group, "_commit", broken_commit)
    outcomes = await asyncio.gather(*(group.run(unit, n) for n in range(5)), return_exceptions=True)
    assert all(isinstance(o, OSError) for o in outcomes)
    assert claimed(db) == set()


async def test_a_lone_unit_does_not_wait_for_company(db):
    group = GroupCommit(db)
    started = asyncio.get_running_loop().time()
    assert await group.run(lambda s: threading.current_thread().name) != threading.current_thread().name
    assert asyncio.get_running_loop().time() - started < 2
