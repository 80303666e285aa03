"""crm/inbox/batch.py writes what the per-message ORM path writes (crm.inbox.tickets.store_inbound), and hands
back what it does not handle; the two are compared row by row on twin customers."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from crm.erasure import remember_erased_chat
from crm.inbox import batch
from crm.inbox.binding import ChatPerson, ensure_customer
from crm.inbox.tickets import store_inbound
from crm.models import Customer, InboxOutbox, Interaction, ProcessedEvent, Ticket
from crm.types import utcnow

pytestmark = pytest.mark.store  # its statements are the dialect's own (crm/direct_sql.py): SQLite and PostgreSQL

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
# a question, a thanks, an urgent question (a reading note in the thread), and one naming a product
TEXTS = ["when does my order ship? 订单什么时候发货？", "ok thanks 👍", "where is my tracking number? I need it urgently",
         "能告诉我发票什么时候开吗？急"]


def _twin(db, settings, chat_id: int) -> tuple[int, int]:
    """A customer bound to ``chat_id`` with an open ticket (its first message, stored the ORM way)."""
    with db.write_session() as s:
        customer, _ = ensure_customer(s, ChatPerson(chat_id=chat_id, first_name="Twin", language_code="en"))
        stored = store_inbound(s, customer, chat_id=chat_id, message_id=1, text="hello", occurred_at=T0,
                               settings=settings, relay=True, details={"raw_text": "hello"})
        return customer.id, stored.ticket.id


def _rows(db, customer_id: int, ticket_id: int) -> dict:
    with db.session() as s:
        customer = s.get(Customer, customer_id)
        ticket = s.get(Ticket, ticket_id)
        interactions = s.exec(select(Interaction).where(Interaction.customer_id == customer_id)
                              .order_by(Interaction.id)).all()
        outbox = s.exec(select(InboxOutbox).where(InboxOutbox.customer_id == customer_id)
                        .order_by(InboxOutbox.id)).all()
        return {
            "interactions": [(i.kind, i.direction, i.channel, i.text, i.occurred_at, i.source_message_id.split(":")[1],
                              i.ticket_id == ticket_id) for i in interactions],
            "ticket": (ticket.status, ticket.last_inbound_at, ticket.intent, ticket.intent_at, ticket.sentiment,
                       ticket.urgency, ticket.tags),
            "customer": (customer.last_contact_at, customer.telegram_blocked),
            "outbox": [(o.target, o.kind, o.status, json.loads(o.payload), o.ticket_id == ticket_id,
                        o.interaction_id is not None) for o in outbox],
        }


def test_a_batch_stores_ordinary_messages_as_the_orm_path_does(db, settings):
    settings = settings.model_copy(update={"business_hours": "00:00-23:59",
                                           "business_days": "mon,tue,wed,thu,fri,sat,sun"})
    orm_customer, orm_ticket = _twin(db, settings, 81_001)
    batch_customer, batch_ticket = _twin(db, settings, 81_002)
    with db.write_session() as s:
        customer = s.get(Customer, orm_customer)
        for n, text in enumerate(TEXTS, 2):
            store_inbound(s, customer, chat_id=81_001, message_id=n, text=text, occurred_at=T0 + timedelta(minutes=n),
                          settings=settings, relay=True, details={"raw_text": text})
    messages = [batch.Message(row_id=n, update_id=500 + n, chat_id=81_002, user_id=81_002, message_id=n,
                              date=T0 + timedelta(minutes=n), text=text, details={"raw_text": text})
                for n, text in enumerate(TEXTS, 2)]
    batch.read_all(messages)
    with db.engine.begin() as conn:
        outcome = batch.store_messages(conn, messages, settings=settings, relay=True, now=utcnow())
    assert outcome.single == [] and outcome.done == [2, 3, 4, 5] and outcome.stored == 4 and outcome.queued
    assert _rows(db, batch_customer, batch_ticket) == _rows(db, orm_customer, orm_ticket)
    with db.session() as s:
        claims = set(s.exec(select(ProcessedEvent.event_id).where(ProcessedEvent.platform == "telegram")).all())
    assert {f"update:{500 + n}" for n in range(2, 6)} <= claims
    # the same updates again (a redelivery that reached the queue twice): nothing more
    with db.engine.begin() as conn:
        again = batch.store_messages(conn, messages, settings=settings, relay=True, now=utcnow())
    assert again.stored == 0 and again.done == [2, 3, 4, 5]
    assert len(_rows(db, batch_customer, batch_ticket)["interactions"]) == 5


def test_a_batch_hands_back_what_the_orm_path_must_do_and_keeps_each_chats_order(db, settings):
    settings = settings.model_copy(update={"business_hours": "00:00-23:59",
                                           "business_days": "mon,tue,wed,thu,fri,sat,sun"})
    _twin(db, settings, 82_001)

    def message(row: int, chat: int, text: str) -> batch.Message:
        return batch.Message(row_id=row, update_id=900 + row, chat_id=chat, user_id=chat, message_id=row,
                             date=T0 + timedelta(minutes=row), text=text)

    messages = [message(1, 82_001, "fine, thanks"),
                message(2, 82_002, "a chat nobody knows yet"),  # no customer: a lead is the ORM path's work
                message(3, 82_001, "I want to cancel my subscription"),  # churn risk: the ORM path
                message(4, 82_001, "and one more thing"),  # after a handed-back one of its chat: waits in line
                message(5, 82_001, "5")]  # may be a rating
    with db.engine.begin() as conn:
        outcome = batch.store_messages(conn, messages, settings=settings, relay=True, now=utcnow())
    assert outcome.done == [1] and outcome.single == [2, 3, 4, 5]


def test_read_all_reads_the_batch_at_once_as_each_alone_and_one_bad_text_spoils_none(monkeypatch):
    """read_all hands the batch to read_messages in one call; ratings and blank texts are left to the ORM path;
    when the batch cannot be read, each message is read alone and only the one that fails stays unread."""
    from crm.understanding import intent

    def message(n: int, text: str) -> batch.Message:
        return batch.Message(row_id=n, update_id=n, chat_id=n, user_id=n, message_id=n, date=T0, text=text)

    texts = TEXTS + ["3", "  ", "the app crashed again\x00!! 退款", "boom"]
    messages = [message(n, text) for n, text in enumerate(texts)]
    calls = []
    real = batch.read_messages
    monkeypatch.setattr(batch, "read_messages", lambda texts: calls.append(list(texts)) or real(texts))
    batch.read_all(messages)
    assert calls == [TEXTS + ["the app crashed again!! 退款", "boom"]]  # one call, NUL removed as stored
    for m in messages:
        want = intent.read_message(m.text.replace("\x00", "")) if m.text.strip() not in ("3", "") else None
        assert m.reading == want

    def unreadable(text: str):
        if text == "boom":
            raise ValueError("cannot read this one")
        return real([text])[0]

    monkeypatch.setattr(batch, "read_messages", lambda texts: [unreadable(t) for t in texts])
    monkeypatch.setattr(batch, "read_message", unreadable)
    messages = [message(n, text) for n, text in enumerate(texts)]
    batch.read_all(messages)
    assert [m.reading is None for m in messages] == [False] * len(TEXTS) + [True, True, False, True]
    assert messages[0].reading == intent.read_message(TEXTS[0])


def _claims(db) -> set[str]:
    with db.session() as s:
        return set(s.exec(select(ProcessedEvent.event_id).where(ProcessedEvent.platform == "telegram")).all())


def test_one_message_under_two_update_ids_is_stored_once_in_a_batch_and_across_batches(db, settings):
    settings = settings.model_copy(update={"business_hours": "00:00-23:59",
                                           "business_days": "mon,tue,wed,thu,fri,sat,sun"})
    customer_id, ticket_id = _twin(db, settings, 83_001)

    def message(row: int, update_id: int, message_id: int) -> batch.Message:
        return batch.Message(row_id=row, update_id=update_id, chat_id=83_001, user_id=83_001, message_id=message_id,
                             date=T0 + timedelta(minutes=message_id), text=f"question number {message_id}?")

    first = [message(1, 7001, 2), message(2, 7002, 2), message(3, 7003, 3)]  # 7002: 7001's message again
    with db.engine.begin() as conn:
        outcome = batch.store_messages(conn, first, settings=settings, relay=True, now=utcnow())
    assert outcome.done == [1, 2, 3] and outcome.single == [] and outcome.stored == 2
    later = [message(4, 7004, 3), message(5, 7005, 4)]  # 7004: 7003's message under another update id
    with db.engine.begin() as conn:
        outcome = batch.store_messages(conn, later, settings=settings, relay=True, now=utcnow())
    assert outcome.done == [4, 5] and outcome.stored == 1
    rows = _rows(db, customer_id, ticket_id)
    assert [i[3] for i in rows["interactions"]] == ["hello", "question number 2?", "question number 3?",
                                                    "question number 4?"]
    assert [o[3]["text"] for o in rows["outbox"] if o[1] == "message"][1:] == \
        ["question number 2?", "question number 3?", "question number 4?"]
    assert all(o[5] for o in rows["outbox"] if o[1] == "message")  # each relay row points at its interaction
    assert {f"update:{u}" for u in (7001, 7002, 7003, 7004, 7005)} <= _claims(db)
    assert rows["ticket"][1] == T0 + timedelta(minutes=4)  # last inbound: the newest stored message


def test_an_erased_customers_old_message_is_dropped_and_a_new_one_stored(db, settings):
    settings = settings.model_copy(update={"business_hours": "00:00-23:59",
                                           "business_days": "mon,tue,wed,thu,fri,sat,sun"})
    customer_id, ticket_id = _twin(db, settings, 84_001)  # came back after an erasure: a new customer
    with db.write_session() as s:
        remember_erased_chat(s, "telegram", 84_001, T0 + timedelta(minutes=30))

    def message(row: int, minutes: int) -> batch.Message:
        return batch.Message(row_id=row, update_id=7100 + row, chat_id=84_001, user_id=84_001, message_id=row + 1,
                             date=T0 + timedelta(minutes=minutes), text=f"question number {minutes}?")

    with db.engine.begin() as conn:
        outcome = batch.store_messages(conn, [message(1, 10), message(2, 40)], settings=settings, relay=True,
                                       now=utcnow())
    assert (outcome.done, outcome.single, outcome.stored, outcome.erased) == ([1, 2], [], 1, True)
    assert [i[3] for i in _rows(db, customer_id, ticket_id)["interactions"]] == ["hello", "question number 40?"]
    assert {"update:7101", "update:7102"} <= _claims(db)
    with db.engine.begin() as conn:  # the old one again (a redelivery): nothing new, nothing more to compact
        again = batch.store_messages(conn, [message(1, 10)], settings=settings, relay=True, now=utcnow())
    assert again.done == [1] and again.stored == 0 and not again.erased


def test_a_pending_ticket_is_open_again_whether_or_not_its_intent_changes(db, settings):
    settings = settings.model_copy(update={"business_hours": "00:00-23:59",
                                           "business_days": "mon,tue,wed,thu,fri,sat,sun"})
    tickets = {}
    for chat in (85_001, 85_002):
        customer_id, ticket_id = _twin(db, settings, chat)
        with db.write_session() as s:
            ticket = s.get(Ticket, ticket_id)
            ticket.status, ticket.intent = "pending", "question"
            s.add(ticket)
        tickets[chat] = (customer_id, ticket_id)
    with db.write_session() as s:  # the other: already open, its intent the one the message reads as
        s.get(Ticket, tickets[85_002][1]).status = "open"
    messages = [batch.Message(row_id=n, update_id=7200 + n, chat_id=chat, user_id=chat, message_id=2,
                              date=T0 + timedelta(minutes=5), text="question number 5?")
                for n, chat in enumerate((85_001, 85_002), 1)]
    with db.engine.begin() as conn:
        outcome = batch.store_messages(conn, messages, settings=settings, relay=True, now=utcnow())
    assert outcome.stored == 2
    for chat, (customer_id, ticket_id) in tickets.items():
        status, last_inbound, intent = _rows(db, customer_id, ticket_id)["ticket"][:3]
        assert (status, last_inbound, intent) == ("open", T0 + timedelta(minutes=5), "question"), chat


_SQL_WORDS = {"select", "from", "where", "in", "left", "outer", "join", "on", "and", "or", "order", "by", "is", "not",
              "null", "distinct", "as", "asc", "desc"}


def _unknown_names(sql: str) -> list[str]:
    """The names in a hand-typed select that are not the models' tables, or columns of the tables it reads
    (qualified ``table.column``; unqualified only in a select of one table)."""
    import re

    from sqlmodel import SQLModel

    tables = SQLModel.metadata.tables
    sql = sql.replace("{in}", "").replace("%s", "")  # the parameter markers
    names = [n.replace('"', "") for n in re.findall(r'"?[A-Za-z_]\w*"?(?:\."?[A-Za-z_]\w*"?)?', sql)]
    read = [n for i, n in enumerate(names) if i and names[i - 1].lower() in ("from", "join")]
    unknown = [t for t in read if t not in tables]
    for name in names:
        if name.lower() in _SQL_WORDS or name in read:
            continue
        table, _, column = name.rpartition(".")
        if table:
            if table not in read or table not in tables or column not in tables[table].c:
                unknown.append(name)
        elif len(read) != 1 or read[0] not in tables or column not in tables[read[0]].c:
            unknown.append(name)
    return sorted(set(unknown))


def test_the_hand_typed_lookups_name_only_the_models_tables_and_columns():
    """The batch's lookups are typed by hand (crm/direct_sql.py builds the writes from the tables): each name
    in them must be a table of the models or a column of the table it reads, so a renamed column fails here."""
    statements = [batch._STAFF, batch._ERASED, *batch._CUSTOMERS_AND_TICKETS.values()]
    for sql in statements:
        assert _unknown_names(sql) == [], sql
    # the check itself catches a wrong name, qualified or not, and a wrong table
    assert _unknown_names(batch._STAFF.replace("telegram_user_id IN", "telegram_id IN")) == ["telegram_id"]
    assert _unknown_names(batch._CUSTOMERS_AND_TICKETS["sqlite"].replace("ticket.urgency", "ticket.urgent")) == [
        "ticket.urgent"]
    assert _unknown_names(batch._ERASED.replace("erased_chat", "erased_chats")) == ["erased_at", "erased_chats", "key"]
