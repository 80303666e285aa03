"""The slash command's own path (issue 17): the trigger id written once (the journal row is also the
exactly-once claim), the journal written in shared batches, one transaction for a command's work,
the staff member looked up once and cached until a staff row changes, answers posted by a bounded pool.
"""
from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.messages import IncomingMessage
from crm import command_journal as journal
from crm.events import claim_event
from crm.models import AcceptedCommand, ProcessedEvent, Staff, Task
from integrations.journal_writer import JournalWriter
from crm.types import utcnow
from tests.helpers import count


def _new(n: int | str, text: str = "find glob") -> journal.NewCommand:
    return journal.NewCommand(platform="slack", delivery_id=f"cmd:trig.{n}", user_id="UALICE", text=text,
                              instance="here", reply_to=f"https://hooks.example/{n}")


@contextmanager
def counting_write_transactions(db):
    """How many write transactions (``db.write_session``) run inside the block."""
    seen = []
    original = db.write_session

    @contextmanager
    def counted(*args, **kwargs):
        seen.append(1)
        with original(*args, **kwargs) as session:
            yield session

    db.write_session = counted
    try:
        yield seen
    finally:
        db.write_session = original


# ---- the journal ------------------------------------------------------------------------------------

@pytest.mark.store
def test_accept_many_journals_a_batch_in_one_statement_and_refuses_repeats(db):
    first = journal.accept_many(db, [_new(1), _new(2), _new(1)])
    assert first[0] is not None and first[1] is not None and first[0] != first[1]
    assert first[2] is None  # the same delivery twice in one batch: journaled once
    again = journal.accept_many(db, [_new(2), _new(3)])
    assert again[0] is None and again[1] is not None  # already journaled by the earlier batch
    with db.session() as s:
        rows = s.exec(select(AcceptedCommand).order_by(AcceptedCommand.id)).all()
    assert [r.delivery_id for r in rows] == ["cmd:trig.1", "cmd:trig.2", "cmd:trig.3"]
    assert all(r.attempts == 1 and r.claimed_by == "here" and r.done_at is None for r in rows)


@pytest.mark.store
def test_the_journal_row_is_the_work_claim(db):
    (command_id,) = journal.accept_many(db, [_new("claim")])
    with db.write_session() as s:
        assert journal.claim_work_in(s, command_id)
    with db.write_session() as s:
        assert not journal.claim_work_in(s, command_id)  # done: a rerun does nothing
    with db.session() as s:
        assert s.get(AcceptedCommand, command_id).done_at is not None


@pytest.mark.store
def test_a_claim_rolled_back_with_its_work_can_be_taken_again(db):
    (command_id,) = journal.accept_many(db, [_new("rollback")])
    with pytest.raises(RuntimeError):
        with db.write_session() as s:
            assert journal.claim_work_in(s, command_id)
            raise RuntimeError("the work failed")
    with db.write_session() as s:
        assert journal.claim_work_in(s, command_id)


@pytest.mark.store
def test_work_an_older_version_claimed_in_processed_event_is_not_done_again(db):
    """Upgrading while commands are in flight: their work was claimed the old way."""
    (command_id,) = journal.accept_many(db, [_new("legacy")])
    assert claim_event(db, "slack", "once:cmd:trig.legacy")
    with db.write_session() as s:
        assert not journal.claim_work_in(s, command_id, legacy_key="once:cmd:trig.legacy")


# ---- the writer: acks and answered marks share transactions -------------------------------------------

async def test_acks_and_answered_marks_arriving_together_share_one_transaction(db):
    (old,) = journal.accept_many(db, [_new("old")])
    writer = JournalWriter(db)
    with counting_write_transactions(db) as transactions:
        marked = writer.answered(old)
        ids = await asyncio.gather(*(writer.accept(_new(n)) for n in range(30)), writer.accept(_new(0)))
        await marked
    assert len(set(ids[:30])) == 30 and None not in ids[:30]
    assert ids[30] is None  # a repeat in the same batch
    assert len(transactions) <= 2  # the first unit starts alone; everything else waits for the next
    with db.session() as s:
        row = s.get(AcceptedCommand, old)
        assert row.answered_at is not None and row.text == ""
        assert count(db, AcceptedCommand) == 31


async def test_a_failed_journal_commit_fails_the_acks_waiting_on_it(db, monkeypatch):
    writer = JournalWriter(db)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(journal, "accept_many_in", broken)
    outcomes = await asyncio.gather(*(writer.accept(_new(n)) for n in range(3)), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert count(db, AcceptedCommand) == 0


# ---- the engine claims on the journal row -------------------------------------------------------------

@pytest.mark.store
def test_a_journaled_command_is_claimed_on_its_journal_row_not_in_processed_event(engine, db, team):
    (command_id,) = journal.accept_many(db, [_new("eng", "remind globex tomorrow 3pm claimed on the row")])

    def run():
        return engine.handle(IncomingMessage(platform="slack", user_id="UALICE", message_id="cmd:trig.eng",
                                             text="remind globex tomorrow 3pm claimed on the row",
                                             extra={"once": True, "journal_id": command_id}))

    assert not run().error
    again = run()
    assert "Already done" in again.text
    assert count(db, Task, Task.title == "claimed on the row") == 1
    assert count(db, ProcessedEvent) == 0  # the trigger id is not written a second time


# ---- end to end through Bolt ----------------------------------------------------------------------------

@pytest.mark.store
def test_a_slash_command_writes_its_trigger_id_once_and_is_marked_done_and_answered(slack_bot, db):
    sent = slack_bot.command("remind globex tomorrow 3pm trigger written once")
    assert sent.status == 200
    assert "trigger written once" in json.dumps(slack_bot.answer(sent), ensure_ascii=False)
    deadline = time.monotonic() + 5
    while journal.unanswered(db, "slack") and time.monotonic() < deadline:
        time.sleep(0.05)
    with db.session() as s:
        row = s.exec(select(AcceptedCommand)).one()
        assert row.done_at is not None and row.answered_at is not None
        assert s.exec(select(ProcessedEvent)).all() == []
    assert count(db, Task, Task.title == "trigger written once") == 1


@pytest.mark.store
def test_a_role_change_reaches_the_next_command_at_once(slack_bot, db, team):
    """Staff identities are cached between commands; a change to a staff row invalidates them."""
    assert "needs the admin role" not in json.dumps(slack_bot.ask("audit globex", user="UADA"))
    with db.write_session() as s:
        s.exec(update(Staff).where(Staff.slack_user_id == "UADA").values(role="rep"))
    assert "needs the admin role" in json.dumps(slack_bot.ask("audit globex", user="UADA"))
    with db.session() as s:
        ada = s.exec(select(Staff).where(Staff.slack_user_id == "UADA")).one()
        ada.active = False
    assert "don't know you" in json.dumps(slack_bot.ask("find glob", user="UADA"))


@pytest.mark.store
def test_answers_are_posted_by_a_bounded_pool(slack_bot, monkeypatch):
    adapter = next(a for a in slack_bot.app.adapters if a.name == "slack")
    in_flight, most = 0, 0
    original = adapter._answer

    async def tracked(origin, reply):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.05)
            await original(origin, reply)
        finally:
            in_flight -= 1

    monkeypatch.setattr(adapter, "_answer", tracked)
    sent = [slack_bot.command(f"find glob{n}") for n in range(3 * adapter.answer_workers)]
    assert all(s.status == 200 for s in sent)
    for s in sent:
        slack_bot.answer(s)
    assert 1 <= most <= adapter.answer_workers


@pytest.mark.crash
@pytest.mark.store
def test_a_dead_instances_command_whose_work_committed_is_answered_already_done(slack_bot, db):
    """kill -9 between the work's commit and the answer: the journal row says done, nothing is redone."""
    text = "remind globex tomorrow 3pm committed before the crash"
    journal.accept(db, "slack", "cmd:trig.dead", user_id="UALICE", text=text, instance="dead-instance",
                   channel_id="C0SALES", reply_to=slack_bot.fake.response_url("dead"))
    (command_id,) = [r.id for r in _rows(db)]
    assert not slack_bot.app.engine.handle(IncomingMessage(
        platform="slack", user_id="UALICE", text=text, message_id="cmd:trig.dead",
        extra={"once": True, "journal_id": command_id})).error
    with db.write_session() as s:
        s.exec(update(AcceptedCommand).values(claimed_at=utcnow() - journal.LEASE * 2))
    adapter = next(a for a in slack_bot.app.adapters if a.name == "slack")
    assert asyncio.run(adapter.recover_commands()) == 1
    answer = slack_bot.fake.wait_for("response", 1, where=lambda c: c.path.endswith("/dead"))[0]
    assert "Already done" in json.dumps(answer.params, ensure_ascii=False)
    assert count(db, Task, Task.title == "committed before the crash") == 1
    assert journal.unanswered(db, "slack") == 0


def _rows(db) -> list[AcceptedCommand]:
    with db.session() as s:
        return list(s.exec(select(AcceptedCommand)).all())


# ---- the staff cache ----------------------------------------------------------------------------------

def test_a_cached_actor_costs_no_select_and_another_process_change_is_seen_after_the_cache_time(db, team):
    from sqlalchemy import event, text

    from bot.identity import StaffCache

    cache = StaffCache(seconds=0.3)
    with db.read_session() as s:
        assert cache.find(s, "slack", "UALICE").role == "rep"
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with db.read_session() as s:
        alice = cache.find(s, "slack", "UALICE")
        assert alice.name == "Alice Rep" and alice in s and not s.is_modified(alice)
    assert not [q for q in statements if "FROM staff" in q]
    # another process (no ORM events here) makes Alice a manager: unseen at most the cache time
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE staff SET role = 'manager' WHERE slack_user_id = 'UALICE'"))
    time.sleep(0.35)
    with db.read_session() as s:
        assert cache.find(s, "slack", "UALICE").role == "manager"


@pytest.mark.store
def test_a_claimed_log_command_writes_its_interaction_without_a_second_claim(engine, db, team):
    """The journal row is the claim: the interaction keeps its source (which message made it) but
    is not claimed again on it (no lookup, no savepoint) inside the command's one transaction."""
    from sqlalchemy import event

    from crm.models import Interaction

    text = "log globex call one claim is enough"
    (command_id,) = journal.accept_many(db, [_new("one-claim", text)])
    statements = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        reply = engine.handle(IncomingMessage(platform="slack", user_id="UALICE", message_id="cmd:trig.one-claim",
                                              text=text, extra={"once": True, "journal_id": command_id}))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not reply.error, reply.text
    assert not [q for q in statements if q.upper().startswith("SAVEPOINT")]
    with db.session() as s:
        logged = s.exec(select(Interaction).where(Interaction.source_message_id == "cmd:trig.one-claim")).all()
    assert len(logged) == 1 and logged[0].source_platform == "slack"


# ---- acks first: answers yield to arriving requests, and are never starved -----------------------------

class Answers:
    """Answers of 20 ms each, counting how many ran at once and how many finished."""

    def __init__(self):
        self.running = self.most = self.done = 0

    async def answer(self):
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.02)  # an answer's work: 20 ms
        self.running -= 1
        self.done += 1


async def test_answers_run_at_full_speed_when_no_request_is_arriving():
    from integrations.slack.listeners.commands import AckFirst

    pacing, answers = AckFirst(share=0.1, quiet=0.01), Answers()
    started = time.monotonic()
    await asyncio.gather(*(pacing.run(answers.answer) for _ in range(10)))
    assert answers.most == 10  # side by side, no turns taken
    assert time.monotonic() - started < 0.5


async def test_while_requests_arrive_answers_take_turns_at_a_bounded_share_and_still_progress():
    from integrations.slack.listeners.commands import AckFirst

    pacing, answers = AckFirst(share=0.25, quiet=0.05, crowd=1), Answers()
    with pacing.acking():  # a request is being acknowledged the whole time
        started = time.monotonic()
        await asyncio.gather(*(pacing.run(answers.answer) for _ in range(5)))
        elapsed = time.monotonic() - started
    assert answers.done == 5  # not starved
    assert answers.most == 1  # one at a time while acks wait
    # each 20 ms answer is followed by a 60 ms rest (share 1/4): ~0.4 s, not 0.1 s
    assert 0.3 <= elapsed < 2.0
    assert not pacing.arriving


async def test_a_crowd_of_requests_makes_answers_yield_until_it_has_been_gone_for_a_moment():
    from integrations.slack.listeners.commands import AckFirst

    pacing = AckFirst(share=0.1, quiet=0.02, crowd=2)
    with pacing.acking():
        assert not pacing.busy()  # one request at a time is a trickle the server keeps up with
        with pacing.acking():
            assert pacing.busy()  # a crowd
        assert pacing.busy()  # and for ``quiet`` after it
    await asyncio.sleep(0.03)
    assert not pacing.busy()  # quiet for longer than ``quiet``: the burst is over


async def test_a_trickle_of_requests_does_not_slow_answers_down():
    from integrations.slack.listeners.commands import AckFirst

    pacing, answers = AckFirst(share=0.1, quiet=0.05, crowd=4), Answers()
    with pacing.acking(), pacing.acking():  # two requests in flight: fewer than the crowd
        started = time.monotonic()
        await asyncio.gather(*(pacing.run(answers.answer) for _ in range(10)))
        assert answers.most == 10 and time.monotonic() - started < 0.5


def test_a_slash_burst_marks_the_ack_path_busy_while_it_is_handled(slack_bot, monkeypatch):
    adapter = next(a for a in slack_bot.app.adapters if a.name == "slack")
    seen = []
    original = adapter.journal.accept

    async def watching(command):
        seen.append(adapter.ack_first.arriving)  # inside the ack: the journal row is written before it
        return await original(command)

    monkeypatch.setattr(adapter.journal, "accept", watching)
    sent = slack_bot.command("find glob")
    assert sent.status == 200
    slack_bot.answer(sent)
    assert seen == [1] and adapter.ack_first.arriving == 0


def test_the_server_freezes_its_start_up_heap_so_full_collections_do_not_walk_it():
    import gc

    from bot.app import settle_heap

    before = gc.get_freeze_count()
    junk = [[n] for n in range(10_000)]  # long-lived, like the libraries and models loaded at start
    try:
        settle_heap()
        assert gc.get_freeze_count() >= before + 10_000
    finally:
        gc.unfreeze()
        del junk
