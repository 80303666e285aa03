"""Customers' ordinary messages, many per transaction, in a few statements on the DBAPI cursor (issue 17).

``crm.inbox.tickets.store_inbound`` stores one message through the ORM: a unit of work, an identity map
and a flush of the claim, ticket, interaction, customer and outbox rows, ~5 ms of CPU per message.
Most traffic is the plainest case: a customer whose chat is already bound writes to their open
ticket. This module stores a batch of those with a handful of statements sent straight to the DBAPI
cursor (crm/direct_sql.py): three lookups (which writers are staff; the customers with their open
tickets, in one join; erased chats), then the update-id claims and the interactions as multi-row
``INSERT … ON CONFLICT DO NOTHING RETURNING`` (one already there, a redelivery or the same message
twice, is skipped and not returned), then one ``executemany`` each for the relay rows, tickets and
customers. The lookups are typed by hand (their ``IN`` lists take a round's sizes); the writes are
built from the models' tables; tests/test_inbox_batch.py checks every name in the lookups is a
table or column of the models. It writes exactly what the ORM path writes for that case (the update-id
claim, the interaction, the ticket's status, last message and reading, the customer's last contact,
the relay row and the reading's note), and hands back everything else to be handled on its own by
the ORM path (``Outcome.single``), so that path stays the one definition of every other case: new
chats, commands, shared phones, edits, ratings, out-of-office replies, complaints, cancellations and
purchase intent (which touch risk and suggestions), staff writing from Telegram.

Once a message of a chat is handed back, that chat's later messages in the batch are handed back
too: a chat's messages are stored in the order they came.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from crm import direct_sql
from crm.erasure import chat_key
from crm.inbox.hours import outside_business_hours
from crm.inbox.tickets import OPEN_STATUSES
from crm.message_reading import NOTEWORTHY, RISK_BUMP, apply_reading, reading_line
from crm.models import Customer, InboxOutbox, Interaction, ProcessedEvent, Ticket
from crm.understanding.intent import MessageReading, read_message, read_messages

RATING_REPLIES = ("1", "2", "3", "4", "5")  # may answer a rating request: the ORM path decides


@dataclass
class Message:
    """One customer message, already read out of the platform's update (no SDK objects)."""

    row_id: int  # the telegram_inbound row
    update_id: int
    chat_id: int
    user_id: int
    message_id: int
    date: datetime
    text: str  # what is stored (``store_inbound``'s ``text``)
    details: dict = field(default_factory=dict)  # what the team's thread shows with it
    reading: MessageReading | None = None  # read ahead (``read_all``), outside the write transaction


@dataclass
class Outcome:
    done: list[int] = field(default_factory=list)  # inbound row ids stored (or duplicates), to mark processed
    single: list[int] = field(default_factory=list)  # inbound row ids the caller handles one by one
    stored: int = 0  # new interactions
    queued: bool = False  # outbox rows were written: wake the relay after commit
    erased: bool = False  # an erased customer's late update was dropped: its raw copy must not linger


def read_all(messages: list[Message]) -> None:
    """Reads every message now (the CPU-heavy part), so the write transaction does not wait for it: all in one
    ``read_messages`` (its arithmetic done once for the batch, issue 17)."""
    unread = [m for m in messages
              if m.reading is None and (body := m.text.strip()) and body not in RATING_REPLIES]
    if not unread:
        return
    texts = [m.text.replace("\x00", "") for m in unread]
    try:
        readings = read_messages(texts)
    except Exception:  # one cannot be read: the others still are, one by one
        readings = [_read_or_none(text) for text in texts]
    for m, reading in zip(unread, readings):
        m.reading = reading


def _read_or_none(text: str) -> MessageReading | None:
    try:
        return read_message(text)
    except Exception:  # read again (and logged) by the path that stores it
        return None


def store_messages(conn, messages: list[Message], *, settings, relay: bool, now: datetime,
                   handed_back: set[int] = frozenset()) -> Outcome:
    """Stores what it can of ``messages`` (in order) in the caller's transaction.

    ``handed_back``: chats whose earlier updates are being handled one by one: theirs wait in line.

    First each message is decided on what the store holds (its chat's customer, open ticket, erasure,
    staff): stored here, dropped (an erased customer's old message) or handed back. Then the update-id
    claims of the stored and dropped ones are inserted, skipping a claim already there (``ON CONFLICT DO
    NOTHING``: a redelivery handled before, done now without more), and the new interactions likewise
    (a message already stored under another update id is stored once); only then are the tickets,
    customers and relay rows written, for what was really inserted. Two statements instead of two
    lookups before them, and no lock taken between a lookup and its insert."""
    out = Outcome()
    if not messages:
        return out
    dialect = conn.dialect.name
    stamp = _memo(direct_sql.time_param(dialect))  # a batch's messages mostly share a few seconds
    outside_hours = _memo(lambda date: outside_business_hours(settings, date))
    chats = {m.chat_id for m in messages}
    users = {m.user_id for m in messages}
    users, chats, keys = list(users), list(chats), {chat_key("telegram", c): c for c in chats}
    read_time = direct_sql.time_value(dialect)
    staff = {u for (u,) in direct_sql.select_rows(conn, direct_sql.in_sql(dialect, _STAFF, len(users)), users)}
    customers: dict[int, SimpleNamespace] = {}
    tickets: dict[int, SimpleNamespace] = {}
    for (customer_id, name, chat, last_contact_at, forgotten_at, ticket_id, status, out_of_office_sent, intent,
         intent_at, sentiment, urgency, tags) in direct_sql.select_rows(
            conn, direct_sql.in_sql(dialect, _CUSTOMERS_AND_TICKETS[dialect], len(chats)), [*OPEN_STATUSES, *chats]):
        customer = customers.get(chat)
        if customer is None:
            customer = customers[chat] = SimpleNamespace(
                id=customer_id, name=name, telegram_chat_id=chat, last_contact_at=read_time(last_contact_at),
                forgotten_at=forgotten_at, touched=False)
        if ticket_id is not None:  # ordered by ticket id: the newest open one wins
            tickets[customer.id] = SimpleNamespace(
                id=ticket_id, customer_id=customer.id, status=status, out_of_office_sent=bool(out_of_office_sent),
                intent=intent, intent_at=read_time(intent_at), sentiment=sentiment, urgency=urgency, tags=tags,
                touched=False, indexed=(status, intent))
    erased = {keys[key]: read_time(erased_at) for key, erased_at in direct_sql.select_rows(
        conn, direct_sql.in_sql(dialect, _ERASED, len(keys)), list(keys))}

    waiting = set(handed_back)
    claimed: list[tuple[Message, str, str | None]] = []  # (message, claim, source: None when not stored)
    dropped: set[str] = set()  # claims of erased customers' old messages
    batch_sources: set[str] = set()
    for m in messages:
        customer = customers.get(m.chat_id)
        ticket = tickets.get(customer.id) if customer is not None else None
        if (m.chat_id in waiting or m.user_id in staff or customer is None or customer.forgotten_at is not None
                or ticket is None):
            out.single.append(m.row_id)
            waiting.add(m.chat_id)
            continue
        claim = f"update:{m.update_id}"
        erased_at = erased.get(m.chat_id)
        date = m.date if m.date.tzinfo is not None or erased_at is None else m.date.replace(tzinfo=erased_at.tzinfo)
        if erased_at is not None and date <= erased_at:  # an old message of an erased customer: dropped
            claimed.append((m, claim, None))
            dropped.add(claim)
            continue
        text = m.text.replace("\x00", "")
        body = text.strip()
        if not body or body in RATING_REPLIES:
            out.single.append(m.row_id)
            waiting.add(m.chat_id)
            continue
        reading = m.reading or read_message(text)
        m.reading = reading
        ooo_due = not ticket.out_of_office_sent and outside_hours(m.date)
        if ooo_due or reading.intent in RISK_BUMP or reading.intent == "purchase":
            out.single.append(m.row_id)  # risk, suggestions, an out-of-office reply: the ORM path's work
            waiting.add(m.chat_id)
            continue
        source = f"{m.chat_id}:{m.message_id}"
        claimed.append((m, claim, None if source in batch_sources else source))  # twice in the batch: once
        batch_sources.add(source)
    if not claimed:
        return out
    created = stamp(now)

    # the claims: those already there are updates handled before (a redelivery that reached the queue twice)
    new_claims = {claim for (claim,) in direct_sql.insert_rows(
        conn, _PROCESSED_EVENT, ("platform", "event_id", "processed_at"),
        [("telegram", claim, created) for _, claim, _ in claimed],
        conflict=("platform", "event_id"), returning=("event_id",))}
    out.done = [m.row_id for m, _, _ in claimed]
    to_store = [(m, source) for m, claim, source in claimed if source is not None and claim in new_claims]
    out.erased = not dropped.isdisjoint(new_claims)
    if not to_store:
        return out
    # the new ids come back keyed by their message (unique in the batch): a message already stored (under
    # another update id) is skipped by the unique source key and not returned
    ids = dict(direct_sql.insert_rows(conn, _INTERACTION, _INTERACTION_COLUMNS, [
        (customers[m.chat_id].id, None, "message", "inbound", "telegram", m.text.replace("\x00", ""), stamp(m.date),
         created, "telegram", source, tickets[customers[m.chat_id].id].id, None) for m, source in to_store],
        conflict=("source_platform", "source_message_id"), returning=("source_message_id", "id")))
    out.stored = len(ids)
    relays = []
    for m, source in to_store:
        interaction_id = ids.get(source)
        if interaction_id is None:
            continue
        customer = customers[m.chat_id]
        ticket = tickets[customer.id]
        text, reading = m.text.replace("\x00", ""), m.reading
        ticket.status, ticket.last_inbound_at, ticket.touched = "open", m.date, True
        apply_reading(ticket, reading, m.date)
        if customer.last_contact_at is None or m.date > customer.last_contact_at:
            customer.last_contact_at = m.date
        customer.touched = True
        if relay:
            relays.append(_outbox(ticket, "message", {"text": text, "author": customer.name, **m.details},
                                  interaction_id, created))
            if reading.intent in NOTEWORTHY or reading.urgency == "high":  # not a new ticket: it was open
                relays.append(_outbox(ticket, "note", {"text": reading_line(reading)}, None, created))
    if relays:
        direct_sql.execute_many(conn, direct_sql.insert_sql(dialect, _OUTBOX, _OUTBOX_COLUMNS), relays)
        out.queued = True
    touched = [t for t in tickets.values() if t.touched]
    direct_sql.execute_many(conn, direct_sql.update_sql(dialect, _TICKETS, _TICKET_COLUMNS), [
        (t.status, stamp(t.last_inbound_at), t.intent, stamp(t.intent_at), t.sentiment, t.urgency, t.tags, t.id)
        for t in touched if (t.status, t.intent) != t.indexed])
    # most messages leave the ticket open with the same intent: SQLite rewrites the entries of every index on
    # a column that is SET, changed or not (three on status and intent: ~2 µs a ticket)
    direct_sql.execute_many(conn, direct_sql.update_sql(dialect, _TICKETS, _TICKET_UNINDEXED_COLUMNS), [
        (stamp(t.last_inbound_at), stamp(t.intent_at), t.sentiment, t.urgency, t.tags, t.id)
        for t in touched if (t.status, t.intent) == t.indexed])
    # they are writing to the bot, so it is not blocked (as store_inbound does)
    direct_sql.execute_many(conn, direct_sql.update_sql(dialect, _CUSTOMER_TABLE, ("telegram_blocked", "last_contact_at")),
                            [(False, stamp(c.last_contact_at), c.id) for c in customers.values() if c.touched])
    return out


# the lookups, on the DBAPI cursor too (crm/direct_sql.py: ``{in}`` becomes the list's markers). Through Core they
# were ~15% of a round (expanding the lists, processing each value of the results)
_STAFF = "SELECT telegram_user_id FROM staff WHERE telegram_user_id IN ({in})"
# each customer of the batch's chats with its open tickets (a row per ticket, oldest first; none: one row of NULLs)
_CUSTOMERS_AND_TICKETS = {dialect: (
    "SELECT customer.id, customer.name, customer.telegram_chat_id, customer.last_contact_at, customer.forgotten_at, "
    "ticket.id, ticket.status, ticket.out_of_office_sent, ticket.intent, ticket.intent_at, ticket.sentiment, "
    "ticket.urgency, ticket.tags FROM customer LEFT OUTER JOIN ticket ON ticket.customer_id = customer.id AND "
    f"ticket.status IN ({', '.join([direct_sql.marker(dialect)] * len(OPEN_STATUSES))}) "
    "WHERE customer.telegram_chat_id IN ({in}) ORDER BY customer.id, ticket.id") for dialect in ("sqlite", "postgresql")}
_ERASED = 'SELECT "key", erased_at FROM erased_chat WHERE "key" IN ({in})'
# the writes go straight to the DBAPI (crm/direct_sql.py): parameters in these columns' order
_PROCESSED_EVENT = ProcessedEvent.__table__
_INTERACTION = Interaction.__table__
_INTERACTION_COLUMNS = ("customer_id", "staff_id", "kind", "direction", "channel", "text", "occurred_at", "created_at",
                        "source_platform", "source_message_id", "ticket_id", "campaign_id")
_OUTBOX = InboxOutbox.__table__
_OUTBOX_COLUMNS = ("target", "kind", "ticket_id", "customer_id", "chat_id", "interaction_id", "payload", "status",
                   "attempts", "next_attempt_at", "claimed_by", "claimed_at", "last_error", "result", "created_at",
                   "sent_at")
_TICKETS = Ticket.__table__
_TICKET_COLUMNS = ("status", "last_inbound_at", "intent", "intent_at", "sentiment", "urgency", "tags")
_TICKET_UNINDEXED_COLUMNS = ("last_inbound_at", "intent_at", "sentiment", "urgency", "tags")
_CUSTOMER_TABLE = Customer.__table__


_to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(…, ensure_ascii=False) without a new encoder each


def _memo(function):
    """``function`` of one argument, each distinct value computed once (for one batch: the cache goes with it)."""
    cache: dict = {}

    def once(value):
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = function(value)
            return result
    return once


def _outbox(ticket, kind: str, payload: dict, interaction_id: int | None, created) -> tuple:
    """An outbox row in ``_OUTBOX_COLUMNS`` order (``created``: the time already as its DBAPI parameter)."""
    return ("slack", kind, ticket.id, ticket.customer_id, None, interaction_id, _to_json(payload),
            "pending", 0, None, None, None, None, None, created, None)
