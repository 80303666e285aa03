"""The inbox's outbox: what is owed to a customer's chat or the team's thread, queued with its cause.

Anything the inbox must send (a relay into the team's thread, a reply to the customer, a
rating request) is written to ``inbox_outbox`` in the same transaction as its cause;
``integrations/inbox_relay.py`` delivers it after commit. Nothing here imports a chat SDK.

Delivery claims are ``crm.claims`` leases (``SENDING``): a row being sent is ``sending`` and
leased to one instance (``claimed_by``, stamped ``claimed_at``). Rows of one Telegram chat, or
of one Slack thread, are taken strictly in id order. A crashed instance's rows go back to
``pending`` once their lease lapses (``release_lapsed``), and an outcome is written only while
the claim still holds (``settle``), so an instance that lost its claim cannot overwrite the new
holder's result.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from typing import Callable

from sqlalchemy import BigInteger, Integer, and_, bindparam, cast, event, func, literal, literal_column, null, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm.claims import Lease, backoff
from crm.models import Customer, InboxOutbox, Interaction, Ticket

# nobody renews it: a single send never takes this long, and the Slack lane waits for its
# channel's slot before claiming, so a claim this old belongs to an instance that died
SENDING = Lease(timedelta(minutes=2), stamp=InboxOutbox.claimed_at, holder=InboxOutbox.claimed_by)
UNFINISHED = ("pending", "sending")
MAX_ATTEMPTS = 16  # with retry_delay: about 45 minutes of trying before a message is reported undelivered


# ---------------------------------------------------------------- after commit


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once this session's transaction commits (e.g. wake the outbox sender)."""
    event.listen(session, "after_commit", lambda _s: callback(), once=True)


# ---------------------------------------------------------------- outbox


def enqueue(session: Session, target: str, kind: str, payload: dict, *, ticket: Ticket | None = None,
            customer: Customer | None = None, chat_id: int | None = None,
            interaction: Interaction | None = None) -> InboxOutbox:
    row = InboxOutbox(target=target, kind=kind, payload=json.dumps(payload, ensure_ascii=False),
                      ticket_id=ticket.id if ticket else None, customer_id=customer.id if customer else None,
                      chat_id=chat_id, interaction_id=interaction.id if interaction else None)
    session.add(row)
    session.info["outbox_queued"] = True  # the caller wakes the sender after commit
    return row


def queued_anything(session: Session) -> bool:
    """Whether this unit of work queued a send (so the sender should be woken after commit)."""
    return bool(session.info.get("outbox_queued"))


def to_customer(session: Session, customer: Customer, kind: str, text: str, *, ticket: Ticket | None = None,
                interaction: Interaction | None = None, **extra) -> InboxOutbox | None:
    """A message for the customer's chat; None when the customer has no chat to reach."""
    if customer.telegram_chat_id is None:
        return None
    return enqueue(session, "telegram", kind, {"text": text, **extra}, ticket=ticket, customer=customer,
                   chat_id=customer.telegram_chat_id, interaction=interaction)


def to_thread(session: Session, ticket: Ticket, kind: str, text: str, *, interaction: Interaction | None = None,
              **extra) -> InboxOutbox:
    """A line in the ticket's team thread (the relay opens the thread with the first one)."""
    return enqueue(session, "slack", kind, {"text": text, **extra}, ticket=ticket,
                   customer=session.get(Customer, ticket.customer_id), interaction=interaction)


# ---------------------------------------------------------------- delivery claims


def retry_delay(attempts: int) -> timedelta:
    """Before retrying a send that failed ``attempts`` times: 2 s, 4 s, 8 s … up to 5 minutes."""
    return backoff(attempts, first=timedelta(seconds=2), longest=timedelta(minutes=5))


def release_lapsed(session: Session, *, now: datetime) -> int:
    """Rows a crashed instance was sending go back to ``pending`` once their lease lapsed; how many."""
    return SENDING.settle(session, (InboxOutbox.status == "sending") & SENDING.lapsed(now),
                          values={"status": "pending"})


# a Slack ticket thread's rows: its lane delivers them (integrations/relay_pacing.py), after the first
_THREAD = and_(InboxOutbox.target == "slack", col(InboxOutbox.ticket_id).is_not(None))


def _due(now: datetime, after: int | None = None):
    """SQL condition: pending, and its retry time (if any) has come. ``after``: of the rows queued after that
    row only, a range of the primary key (``due_since``). Then the status is compared through an expression no
    index serves: SQLite's planner (no statistics) took the status index, every pending row, and checked each
    one's id; this way it walks the primary key from ``after``."""
    retry_due = col(InboxOutbox.next_attempt_at).is_(None) | (InboxOutbox.next_attempt_at <= now)
    if after is None:
        return (InboxOutbox.status == "pending") & retry_due
    return (InboxOutbox.id > after) & (func.coalesce(InboxOutbox.status, "") == "pending") & retry_due


@cache
def _first_due_statement(ranged: bool):
    """``_first_due``'s statement, built once (``now``, ``after``, ``limit`` bound when it runs): constructing
    it each time was most of a look on a wake, longer than SQLite's work."""
    limit = bindparam("limit")
    where = _due(bindparam("now"), bindparam("after") if ranged else None)
    first = func.min(InboxOutbox.id)
    # grouped by an expression no index serves: by the column, SQLite's planner walked the ticket_id index (every
    # thread row ever) to skip a sort, even when ``where`` is a short primary-key range (``due_since``'s thread
    # query: 0.84 ms instead of 0.03 ms at a 6,000-row backlog, measured in one run)
    ticket = (InboxOutbox.ticket_id + literal_column("0", Integer)).label("ticket_id")
    threads = (select(first.label("id"), literal("slack").label("target"), cast(null(), BigInteger).label("chat_id"),
                      ticket)
               .where(where, _THREAD).group_by(ticket).order_by(first).limit(limit).subquery())
    others = (select(InboxOutbox.id, InboxOutbox.target, InboxOutbox.chat_id, InboxOutbox.ticket_id)
              .where(where, ~_THREAD).order_by(InboxOutbox.id).limit(limit).subquery())
    return union_all(select(threads), select(others))


def _first_due(session: Session, *, now: datetime, after: int | None,
               limit: int) -> tuple[list[tuple[int, str, int | None, int | None]], int | None]:
    """(id, target, chat id, ticket id) of the due rows (``_due``), oldest first; of a Slack ticket thread
    only its first one (the relay's lane for that thread takes the rest itself: every stored update wakes the
    relay, and re-reading a thread's whole paced backlog, up to 1,000 rows, on each wake was a sixth of an
    instance's CPU under a burst, bench/load_scaling.py). At most ``limit`` threads and ``limit`` other rows;
    the second value is None when that was all, else the id up to which the list is complete."""
    params = {"now": now, "limit": limit} if after is None else {"now": now, "after": after, "limit": limit}
    found = [tuple(row) for row in session.execute(_first_due_statement(after is not None), params).all()]
    of_threads = sum(1 for row in found if row[1] == "slack" and row[3] is not None)
    # a list cut at ``limit`` is complete up to its last row: every thread whose first row comes before that is
    # in it, and so is every other row
    cut = [max(row[0] for row in found if (row[1] == "slack" and row[3] is not None) is of_thread)
           for of_thread, count in ((True, of_threads), (False, len(found) - of_threads)) if count == limit]
    complete_to = min(cut) if cut else None
    return sorted(row for row in found if complete_to is None or row[0] <= complete_to), complete_to


def due(session: Session, *, now: datetime,
        limit: int = 1000) -> tuple[list[tuple[int, str, int | None, int | None]], int]:
    """(id, target, chat id, ticket id) of pending rows whose retry time has come, oldest first; of a Slack
    ticket thread only its first due row (``_first_due``). Returns them and the id a later ``due_since``
    starts after: the newest row's, or, when the list was cut at ``limit``, the id up to which it is complete
    (the rows past the cut are then the next look's, not left for the next full one)."""
    top = last_id(session)  # read first: a row queued during the look is looked at again next time, not missed
    rows, complete_to = _first_due(session, now=now, after=None, limit=limit)
    return rows, (top if complete_to is None else complete_to)


def last_id(session: Session) -> int:
    """The newest row's id (0 when there is none): what a later ``due_since`` starts after."""
    return session.exec(select(func.max(InboxOutbox.id))).one() or 0


def due_since(session: Session, *, now: datetime, after: int,
              limit: int = 1000) -> tuple[list[tuple[int, str, int | None, int | None]], int]:
    """``due`` of the rows queued after row ``after`` only (the relay's look on a wake, between full ones):
    a range of the primary key (``_due(now, after)``), where ``due`` reads every pending row, so its cost grows
    with a burst's backlog (SQLite, 6,000 pending rows, 30 new ones: 0.17 ms against the full look's 2.4 ms,
    measured in one run). Returns them and the id to start after next time."""
    top = last_id(session)  # read first: a row queued during the look is looked at again next time, not missed
    rows, complete_to = _first_due(session, now=now, after=after, limit=limit)
    return rows, (max(after, top) if complete_to is None else complete_to)


def _nothing_unfinished_before():
    """SQL condition: no earlier row of the same chat (Telegram) or thread (Slack) is still unfinished."""
    earlier = aliased(InboxOutbox)
    same_group = or_(and_(InboxOutbox.target == "telegram", earlier.chat_id == InboxOutbox.chat_id),
                     and_(InboxOutbox.target != "telegram", earlier.ticket_id == InboxOutbox.ticket_id))
    return ~select(earlier.id).where(earlier.target == InboxOutbox.target, earlier.id < InboxOutbox.id,
                                     same_group, col(earlier.status).in_(UNFINISHED)).exists()


def claim_next(session: Session, row_ids: list[int], *, now: datetime, holder: str) -> dict[int, InboxOutbox]:
    """Takes those of ``row_ids`` still due with nothing unfinished before them in their chat or
    thread, for ``holder``: one conditional UPDATE, so rows another instance took no longer match."""
    if not row_ids:
        return {}
    SENDING.take(session, col(InboxOutbox.id).in_(row_ids) & _due(now) & _nothing_unfinished_before(),
                 now=now, holder=holder, values={"status": "sending"})
    taken = session.exec(select(InboxOutbox).where(col(InboxOutbox.id).in_(row_ids), InboxOutbox.status == "sending",
                                                   SENDING.held(now, holder))).all()
    return {row.id: row for row in taken}


def claim_all(session: Session, row_ids: list[int], *, now: datetime, holder: str) -> bool:
    """Takes every one of ``row_ids`` (the caller chose them, in order) or none: False, and nothing
    changed, when any of them is no longer due."""
    attempt = session.begin_nested()
    taken = SENDING.take(session, col(InboxOutbox.id).in_(row_ids) & _due(now), now=now, holder=holder,
                         values={"status": "sending"})
    if taken != len(set(row_ids)):
        attempt.rollback()
        return False
    attempt.commit()
    return True


def settle(session: Session, rows: list[InboxOutbox], **values) -> int:
    """Writes the outcome of one claim on ``rows`` (taken together); nothing when the claim was lost
    (it lapsed and another instance took the rows). How many rows were written."""
    if not rows:
        return 0
    return SENDING.settle(session, col(InboxOutbox.id).in_([row.id for row in rows])
                          & (InboxOutbox.status == "sending")
                          & SENDING.held(rows[0].claimed_at, rows[0].claimed_by), values=values)


def mark_sent(session: Session, rows: list[InboxOutbox], *, result, now: datetime) -> int:
    """Sent (``result``: the platform's message id or Slack ts), one attempt counted."""
    return settle(session, rows, status="sent", sent_at=now, result=str(result)[:64] if result else None,
                  attempts=InboxOutbox.attempts + 1)


def fail(session: Session, row: InboxOutbox, *, reason: str) -> bool:
    """Given up on at once (blocked bot, unknown chat, no Slack); False when the claim was lost."""
    return settle(session, [row], status="failed", last_error=reason[:300], attempts=InboxOutbox.attempts + 1) == 1


def retry_later(session: Session, row: InboxOutbox, *, error: str, now: datetime) -> str | None:
    """A failed attempt: ``pending`` again after ``retry_delay``, or ``failed`` at ``MAX_ATTEMPTS``.
    Returns the row's new status; None when the claim was lost (its new holder decides)."""
    attempts = row.attempts + 1  # the row was read when it was claimed: nobody else writes it meanwhile
    if attempts >= MAX_ATTEMPTS:
        values = {"status": "failed"}
    else:
        values = {"status": "pending", "next_attempt_at": now + retry_delay(attempts)}
    if settle(session, [row], attempts=attempts, last_error=error[:300], **values) != 1:
        return None
    return values["status"]


def release(session: Session, rows: list[InboxOutbox]) -> int:
    """Gives claimed rows back untouched (no attempt counted): the next pass takes them again."""
    return settle(session, rows, status="pending", claimed_by=None, claimed_at=None)
