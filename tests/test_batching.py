"""The batching primitive (integrations/batching.py) the group commit and the command journal share."""
from __future__ import annotations

import asyncio
import threading

import pytest

from integrations.batching import Batcher, Closed, Failed


class Recorder:
    """A commit callable that records each batch and answers ``item * 10`` (``Failed`` for odd items
    when ``fail_odd``); ``gate`` holds the first batch until set, so the others queue behind it."""

    def __init__(self, *, fail_odd: bool = False, hold_first: bool = False):
        self.batches: list[list[int]] = []
        self.fail_odd = fail_odd
        self.gate = threading.Event()
        if not hold_first:
            self.gate.set()

    def __call__(self, items: list[int]) -> list:
        self.gate.wait(10)
        self.batches.append(list(items))
        return [Failed(ValueError(f"odd {n}")) if self.fail_odd and n % 2 else n * 10 for n in items]


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_items_are_committed_and_answered_in_arrival_order_and_batch_while_the_writer_is_busy():
    commit = Recorder(hold_first=True)
    batcher = Batcher(commit, max_batch=100)
    first = batcher.submit(0)
    await asyncio.sleep(0.05)  # the first batch is in flight (held), alone: nothing waited for company
    rest = [batcher.submit(n) for n in range(1, 40)]
    commit.gate.set()
    results = await asyncio.gather(first, *rest)
    assert results == [n * 10 for n in range(40)]
    assert commit.batches[0] == [0]
    assert [n for batch in commit.batches for n in batch] == list(range(40))  # arrival order, across batches
    assert len(commit.batches) == 2  # everything that arrived meanwhile shared the next batch


async def test_a_failing_item_fails_alone():
    batcher = Batcher(Recorder(fail_odd=True), max_batch=50)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in range(10)), return_exceptions=True)
    assert [o for o in outcomes if not isinstance(o, Exception)] == [0, 20, 40, 60, 80]
    assert all(isinstance(outcomes[n], ValueError) and str(outcomes[n]) == f"odd {n}" for n in range(1, 10, 2))


async def test_a_batch_that_raises_fails_its_items_only_and_the_next_batch_still_runs():
    calls = []

    def commit(items):
        calls.append(list(items))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return [n for n in items]

    batcher = Batcher(commit, max_batch=3)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in range(7)), return_exceptions=True)
    assert calls == [[0, 1, 2], [3, 4, 5], [6]]
    assert outcomes[:3] == [0, 1, 2] and outcomes[6] == 6
    assert all(isinstance(o, RuntimeError) for o in outcomes[3:6])


async def test_batch_size_is_bounded_and_may_change_while_running():
    commit = Recorder(hold_first=True)
    batcher = Batcher(commit, max_batch=4)
    futures = [batcher.submit(n) for n in range(11)]
    await asyncio.sleep(0.02)
    batcher.max_batch = 2  # e.g. a benchmark's "a transaction per item"
    commit.gate.set()
    await asyncio.gather(*futures)
    assert commit.batches[0] == [0, 1, 2, 3]
    assert all(len(batch) <= 2 for batch in commit.batches[1:])
    assert [n for batch in commit.batches for n in batch] == list(range(11))
    with pytest.raises(ValueError):
        Batcher(commit, max_batch=0)


async def test_items_that_may_be_retried_go_back_in_front_until_their_tries_are_spent():
    calls = []

    def commit(items):
        calls.append(list(items))
        if len(calls) <= 2:
            raise RuntimeError("locked")
        return [None] * len(items)

    batcher = Batcher(commit, max_batch=10, retries=lambda item: 1 if item == "mark" else 0, retry_delay=0.01)
    outcomes = await asyncio.gather(batcher.submit("mark"), batcher.submit("ack"), return_exceptions=True)
    # first batch failed: the ack fails, the mark goes back; second failed: the mark's one retry is spent
    assert calls == [["mark", "ack"], ["mark"]]
    assert isinstance(outcomes[0], RuntimeError) and isinstance(outcomes[1], RuntimeError)
    assert await batcher.submit("mark") is None  # the store is back


async def test_a_caller_that_went_away_does_not_stop_its_batch():
    commit = Recorder(hold_first=True)
    batcher = Batcher(commit, max_batch=10)
    first, second = batcher.submit(1), batcher.submit(2)
    await asyncio.sleep(0.02)
    first.cancel()
    commit.gate.set()
    assert await second == 20
    assert commit.batches == [[1], [2]] or commit.batches == [[1, 2]]


async def test_shutdown_drains_what_is_queued_and_refuses_new_items():
    commit = Recorder(hold_first=True)
    batcher = Batcher(commit, max_batch=5)
    futures = [batcher.submit(n) for n in range(12)]
    assert batcher.pending() > 0
    closing = asyncio.create_task(batcher.close())
    await asyncio.sleep(0.02)
    assert not closing.done()  # held: the queued items are still being written
    commit.gate.set()
    await asyncio.wait_for(closing, 5)
    assert all(f.done() for f in futures) and [f.result() for f in futures] == [n * 10 for n in range(12)]
    assert batcher.pending() == 0
    with pytest.raises(Closed):
        batcher.submit(99)


async def test_drain_waits_for_every_queued_item():
    commit = Recorder(hold_first=True)
    batcher = Batcher(commit, max_batch=3)
    futures = [batcher.submit(n) for n in range(7)]
    draining = asyncio.create_task(batcher.drain())
    await asyncio.sleep(0.02)
    assert not draining.done()
    commit.gate.set()
    await asyncio.wait_for(draining, 5)
    assert all(f.done() for f in futures)
    await batcher.drain()  # nothing queued: returns at once


def test_each_event_loop_has_its_own_queue_and_writer():
    batcher = Batcher(Recorder(), max_batch=10)

    async def some(base):
        return await asyncio.gather(*(batcher.submit(base + n) for n in range(3)))

    assert asyncio.run(some(0)) == [0, 10, 20]
    assert asyncio.run(some(100)) == [1000, 1010, 1020]  # a new loop: new futures, a new writer task


async def test_a_wrong_number_of_outcomes_fails_the_batch_rather_than_answering_the_wrong_caller():
    batcher = Batcher(lambda items: [1], max_batch=10)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)  # one batch of three, one outcome: none trusted
    assert await batcher.submit(7) == 1  # a batch of one with its one outcome
