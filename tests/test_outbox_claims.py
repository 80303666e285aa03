"""The inbox outbox's delivery claims (crm/inbox/outbox.py on crm/claims.py's Lease).

(Order within a chat and one taker across instances: test_telegram_inbox's
test_the_relay_takes_each_chats_first_unsent_row_once_across_instances, through the relay.)

A row being sent is leased to one instance: nobody else takes it, a crashed instance's row
goes back to ``pending`` once its lease lapses, and an instance whose lease lapsed and was
taken over writes no outcome over the new holder's.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.inbox import outbox
from crm.inbox.binding import ChatPerson, ensure_customer
from crm.models import InboxOutbox, Ticket
from crm.types import utcnow

pytestmark = pytest.mark.store


def _rows(db, *chats: int) -> list[int]:
    with db.write_session() as s:
        rows = [InboxOutbox(target="telegram", kind="reply", chat_id=chat, payload='{"text": "hi"}') for chat in chats]
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows]


def _row(db, row_id: int) -> InboxOutbox:
    with db.session() as s:
        return s.exec(select(InboxOutbox).where(InboxOutbox.id == row_id)).one()


def test_a_dead_instances_row_is_released_only_after_its_lease_lapses(db):
    [row_id] = _rows(db, 601)
    claimed = utcnow() - outbox.SENDING.duration + timedelta(seconds=30)
    with db.write_session() as s:
        outbox.claim_next(s, [row_id], now=claimed, holder="dead")
    with db.write_session() as s:
        assert outbox.release_lapsed(s, now=utcnow()) == 0  # still within its lease: it may be sending
    assert _row(db, row_id).status == "sending"
    with db.write_session() as s:
        assert outbox.release_lapsed(s, now=utcnow() + timedelta(seconds=31)) == 1
    with db.write_session() as s:
        assert list(outbox.claim_next(s, [row_id], now=utcnow(), holder="rescuer")) == [row_id]
    assert _row(db, row_id).claimed_by == "rescuer"


def test_an_outcome_is_written_only_while_the_claim_holds(db):
    [row_id] = _rows(db, 701)
    then = utcnow() - outbox.SENDING.duration - timedelta(seconds=1)
    with db.write_session() as s:
        [slow] = outbox.claim_next(s, [row_id], now=then, holder="slow").values()
    with db.write_session() as s:
        outbox.release_lapsed(s, now=utcnow())
        [rescuer] = outbox.claim_next(s, [row_id], now=utcnow(), holder="rescuer").values()
    with db.write_session() as s:  # the slow instance finally hears back: its claim is gone
        assert outbox.settle(s, [slow], status="sent", attempts=slow.attempts + 1) == 0
    assert _row(db, row_id).status == "sending"
    with db.write_session() as s:
        assert outbox.settle(s, [rescuer], status="sent", attempts=rescuer.attempts + 1) == 1
    row = _row(db, row_id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_claim_all_takes_every_row_or_none(db):
    ids = _rows(db, 801, 801, 801)
    now = utcnow()
    with db.write_session() as s:
        assert outbox.claim_next(s, [ids[1]], now=now, holder="other") == {}  # waits for ids[0]
        assert outbox.claim_all(s, ids[:2], now=now, holder="one") is True
    with db.write_session() as s:
        assert outbox.claim_all(s, ids[1:], now=now, holder="two") is False  # ids[1] is taken
    assert _row(db, ids[2]).status == "pending"
    with db.write_session() as s:
        assert outbox.release(s, [_row(db, ids[1])]) == 1  # given back untouched
    row = _row(db, ids[1])
    assert (row.status, row.claimed_by, row.attempts) == ("pending", None, 0)


def test_retries_back_off_up_to_five_minutes():
    assert [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert outbox.retry_delay(30) == timedelta(minutes=5)


def test_a_failed_attempt_is_retried_later_then_given_up(db, monkeypatch):
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 2)
    [row_id] = _rows(db, 901)
    now = utcnow()
    with db.write_session() as s:
        [row] = outbox.claim_next(s, [row_id], now=now, holder="one").values()
        assert outbox.retry_later(s, row, error="502 Bad Gateway", now=now) == "pending"
    row = _row(db, row_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "502 Bad Gateway")
    assert row.next_attempt_at == now + outbox.retry_delay(1)
    with db.write_session() as s:
        assert outbox.claim_next(s, [row_id], now=now, holder="one") == {}  # not before its retry time
        [row] = outbox.claim_next(s, [row_id], now=row.next_attempt_at, holder="one").values()
        assert outbox.retry_later(s, row, error="502 again", now=now) == "failed"
    assert (_row(db, row_id).status, _row(db, row_id).attempts) == ("failed", 2)


def test_a_look_since_a_row_sees_only_newer_due_rows_and_the_first_of_each_thread(db):
    """The relay's look on a wake (outbox.due_since) against its full look (outbox.due)."""
    with db.write_session() as s:
        customer, _ = ensure_customer(s, ChatPerson(chat_id=990, first_name="Ann", language_code="en"))
        tickets = [Ticket(customer_id=customer.id), Ticket(customer_id=customer.id)]
        s.add_all(tickets)
        s.flush()
        first_ticket, second_ticket = (t.id for t in tickets)

    def thread_rows(ticket: int, n: int) -> list[int]:
        with db.write_session() as s:
            rows = [InboxOutbox(target="slack", kind="message", ticket_id=ticket, payload='{"text": "hi"}')
                    for _ in range(n)]
            s.add_all(rows)
            s.flush()
            return [row.id for row in rows]

    with db.session() as s:
        assert outbox.last_id(s) == 0
    old = thread_rows(first_ticket, 2) + _rows(db, 901)
    with db.write_session() as s:  # an old row waiting for its retry, due now
        s.get(InboxOutbox, old[2]).next_attempt_at = utcnow() - timedelta(seconds=1)
    with db.session() as s:
        mark = outbox.last_id(s)
    assert mark == old[-1]
    new = thread_rows(first_ticket, 2) + thread_rows(second_ticket, 3) + _rows(db, 902, 902)
    later = _rows(db, 903)
    with db.write_session() as s:  # not due yet: not seen by either look
        s.get(InboxOutbox, later[0]).next_attempt_at = utcnow() + timedelta(minutes=5)
    now = utcnow()
    with db.session() as s:
        everything, _ = outbox.due(s, now=now)
        since, looked_to = outbox.due_since(s, now=now, after=mark)
        # at most ``limit`` threads and ``limit`` other rows, as ``due``: complete up to the second thread
        capped, capped_to = outbox.due_since(s, now=now, limit=2, after=mark)
    assert everything == [(old[0], "slack", None, first_ticket), (old[2], "telegram", 901, None), (new[2], "slack", None, second_ticket),
                          (new[5], "telegram", 902, None), (new[6], "telegram", 902, None)]
    assert since == [(new[0], "slack", None, first_ticket), (new[2], "slack", None, second_ticket), (new[5], "telegram", 902, None),
                     (new[6], "telegram", 902, None)]
    assert looked_to == later[0]
    assert capped == [(new[0], "slack", None, first_ticket), (new[2], "slack", None, second_ticket)] and capped_to == new[2]


def test_a_capped_full_look_says_where_the_next_look_starts(db):
    """A full look cut at its limit returns the rows up to where its list is complete, and that id: the
    relay's next look (due_since) starts there, so the rows past the cut are looked at on the next wake
    instead of waiting for the next full look (up to POLL_SECONDS)."""
    ids = _rows(db, 801, 802, 803, 804, 805)
    with db.session() as s:
        rows, looked_to = outbox.due(s, now=utcnow(), limit=3)
        assert [r[0] for r in rows] == ids[:3] and looked_to == ids[2]
        rest, looked_to = outbox.due_since(s, now=utcnow(), after=looked_to)
        assert [r[0] for r in rest] == ids[3:] and looked_to == ids[4]
        everything, looked_to = outbox.due(s, now=utcnow())  # not cut: complete up to the newest row
        assert [r[0] for r in everything] == ids and looked_to == ids[4]
