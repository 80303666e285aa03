"""Customers' ordinary messages, many per transaction, in Core statements (issue 17).

``crm.inbox.tickets.store_inbound`` stores one message through the ORM: a unit of work, an identity map
and a flush of the claim, ticket, interaction, customer and outbox rows, ~5 ms of CPU per message.
Most traffic is the plainest case: a customer whose chat is already bound writes to their open
ticket. This module stores a batch of those with a handful of statements: one lookup each for the
batch's customers, open tickets, erased chats, claims and already-stored messages, then one
``executemany`` per table. It writes exactly what the ORM path writes for that case (the update-id
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

from sqlalchemy import bindparam, select, update

from crm.erasure import chat_key
from crm.inbox.hours import outside_business_hours
from crm.inbox.tickets import OPEN_STATUSES
from crm.message_reading import NOTEWORTHY, RISK_BUMP, apply_reading, reading_line
from crm.models import Customer, ErasedChat, InboxOutbox, Interaction, ProcessedEvent, Staff, Ticket
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

    ``handed_back``: chats whose earlier updates are being handled one by one: theirs wait in line."""
    out = Outcome()
    if not messages:
        return out
    chats = {m.chat_id for m in messages}
    users = {m.user_id for m in messages}
    staff = set(conn.execute(_STAFF, {"users": list(users)}).scalars())
    customers = {r.telegram_chat_id: SimpleNamespace(**r._mapping) for r in conn.execute(
        _CUSTOMERS, {"chats": list(chats)})}
    tickets: dict[int, SimpleNamespace] = {}
    if customers:
        for r in conn.execute(_OPEN_TICKETS, {"customers": [c.id for c in customers.values()]}):
            tickets[r.customer_id] = SimpleNamespace(**r._mapping, touched=False)  # the newest open one wins
    keys = {chat_key("telegram", c): c for c in chats}
    erased = {keys[r.key]: r.erased_at for r in conn.execute(_ERASED, {"keys": list(keys)})}
    claims = set(conn.execute(_CLAIMS, {"ids": [f"update:{m.update_id}" for m in messages]}).scalars())
    seen = set(conn.execute(_SEEN, {"sources": [f"{m.chat_id}:{m.message_id}" for m in messages]}).scalars())

    waiting = set(handed_back)
    new_claims, interactions, relays = [], [], []  # relays: (index into interactions or None, outbox row)
    for m in messages:
        customer = customers.get(m.chat_id)
        ticket = tickets.get(customer.id) if customer is not None else None
        if (m.chat_id in waiting or m.user_id in staff or customer is None or customer.forgotten_at is not None
                or ticket is None):
            out.single.append(m.row_id)
            waiting.add(m.chat_id)
            continue
        claim = f"update:{m.update_id}"
        if claim in claims:  # handled before (a redelivery that reached the queue twice)
            out.done.append(m.row_id)
            continue
        erased_at = erased.get(m.chat_id)
        date = m.date if m.date.tzinfo is not None or erased_at is None else m.date.replace(tzinfo=erased_at.tzinfo)
        if erased_at is not None and date <= erased_at:  # an old message of an erased customer: dropped
            out.erased = True
            new_claims.append(claim)
            claims.add(claim)
            out.done.append(m.row_id)
            continue
        text = m.text.replace("\x00", "")
        body = text.strip()
        if not body or body in RATING_REPLIES:
            out.single.append(m.row_id)
            waiting.add(m.chat_id)
            continue
        source = f"{m.chat_id}:{m.message_id}"
        if source in seen:  # the same message under another update id: stored once
            new_claims.append(claim)
            claims.add(claim)
            out.done.append(m.row_id)
            continue
        reading = m.reading or read_message(text)
        ooo_due = not ticket.out_of_office_sent and outside_business_hours(settings, m.date)
        if ooo_due or reading.intent in RISK_BUMP or reading.intent == "purchase":
            out.single.append(m.row_id)  # risk, suggestions, an out-of-office reply: the ORM path's work
            waiting.add(m.chat_id)
            continue
        new_claims.append(claim)
        claims.add(claim)
        seen.add(source)
        out.done.append(m.row_id)
        index = len(interactions)
        interactions.append({"customer_id": customer.id, "staff_id": None, "kind": "message", "direction": "inbound",
                             "channel": "telegram", "text": text, "occurred_at": m.date, "created_at": now,
                             "source_platform": "telegram", "source_message_id": source, "ticket_id": ticket.id,
                             "campaign_id": None})
        ticket.status, ticket.last_inbound_at, ticket.touched = "open", m.date, True
        apply_reading(ticket, reading, m.date)
        if customer.last_contact_at is None or m.date > customer.last_contact_at:
            customer.last_contact_at = m.date
        customer.touched = True
        if relay:
            relays.append((index, _outbox(ticket, "message", {"text": text, "author": customer.name, **m.details},
                                          now)))
            if reading.intent in NOTEWORTHY or reading.urgency == "high":  # not a new ticket: it was open
                relays.append((None, _outbox(ticket, "note", {"text": reading_line(reading)}, now)))

    if new_claims:
        conn.execute(ProcessedEvent.__table__.insert(),
                     [{"platform": "telegram", "event_id": c, "processed_at": now} for c in new_claims])
    if interactions:
        # the new ids come back keyed by their message (unique in the batch: ``seen``), not in parameter order:
        # ordered RETURNING made SQLAlchemy send SQLite one INSERT per row; unordered, it sends multi-row VALUES
        ids = dict(conn.execute(_INTERACTION_INSERT, interactions).tuples().all())
        out.stored = len(ids)
        rows = []
        for index, row in relays:
            row["interaction_id"] = ids[interactions[index]["source_message_id"]] if index is not None else None
            rows.append(row)
        if rows:
            conn.execute(InboxOutbox.__table__.insert(), rows)
            out.queued = True
        touched = [t for t in tickets.values() if t.touched]
        if touched:
            conn.execute(_TICKET_UPDATE, [
                {"ticket_id": t.id, "status": t.status, "last_inbound_at": t.last_inbound_at, "intent": t.intent,
                 "intent_at": t.intent_at, "sentiment": t.sentiment, "urgency": t.urgency, "tags": t.tags}
                for t in touched])
        contacted = [c for c in customers.values() if getattr(c, "touched", False)]
        conn.execute(_CONTACTED, [{"customer_id": c.id, "last_contact_at": c.last_contact_at} for c in contacted])
    return out


# the statements, built once (building them per batch was ~10% of storing one): lists go in expanding binds
_STAFF = select(Staff.telegram_user_id).where(Staff.telegram_user_id.in_(bindparam("users", expanding=True)))
_CUSTOMERS = select(Customer.id, Customer.name, Customer.telegram_chat_id, Customer.last_contact_at,
                    Customer.forgotten_at).where(Customer.telegram_chat_id.in_(bindparam("chats", expanding=True)))
_OPEN_TICKETS = (select(Ticket.id, Ticket.customer_id, Ticket.status, Ticket.out_of_office_sent, Ticket.intent,
                        Ticket.intent_at, Ticket.sentiment, Ticket.urgency, Ticket.tags, Ticket.last_inbound_at)
                 .where(Ticket.customer_id.in_(bindparam("customers", expanding=True)),
                        Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id))
_ERASED = select(ErasedChat.key, ErasedChat.erased_at).where(ErasedChat.key.in_(bindparam("keys", expanding=True)))
_CLAIMS = select(ProcessedEvent.event_id).where(ProcessedEvent.platform == "telegram",
                                                ProcessedEvent.event_id.in_(bindparam("ids", expanding=True)))
_SEEN = select(Interaction.source_message_id).where(
    Interaction.source_platform == "telegram",
    Interaction.source_message_id.in_(bindparam("sources", expanding=True)))
_TICKETS = Ticket.__table__
_TICKET_UPDATE = update(_TICKETS).where(_TICKETS.c.id == bindparam("ticket_id")).values(
    status=bindparam("status"), last_inbound_at=bindparam("last_inbound_at"), intent=bindparam("intent"),
    intent_at=bindparam("intent_at"), sentiment=bindparam("sentiment"), urgency=bindparam("urgency"),
    tags=bindparam("tags"))
_CUSTOMER_TABLE = Customer.__table__
# they are writing to the bot, so it is not blocked (as store_inbound does)
_CONTACTED = update(_CUSTOMER_TABLE).where(_CUSTOMER_TABLE.c.id == bindparam("customer_id")).values(
    telegram_blocked=False, last_contact_at=bindparam("last_contact_at"))
_INTERACTION_INSERT = Interaction.__table__.insert().returning(Interaction.__table__.c.source_message_id,
                                                               Interaction.__table__.c.id)


def _outbox(ticket, kind: str, payload: dict, now: datetime) -> dict:
    return {"target": "slack", "kind": kind, "ticket_id": ticket.id, "customer_id": ticket.customer_id,
            "chat_id": None, "interaction_id": None, "payload": json.dumps(payload, ensure_ascii=False),
            "status": "pending", "attempts": 0, "next_attempt_at": None, "claimed_by": None, "claimed_at": None,
            "last_error": None, "result": None, "created_at": now, "sent_at": None}
