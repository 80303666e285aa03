"""The Telegram processor's rounds on SQLite (integrations/telegram/inbound.py): a round reads the next round's
rows at the end of its write; rows that only wait for another update of their chat are not read again and again."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crm import telegram_inbound
from crm.inbox.binding import ChatPerson, ensure_customer
from crm.inbox.tickets import store_inbound
from crm.models import Interaction, TelegramInbound
from crm.types import utcnow
from integrations.telegram.customer import CustomerChat
from integrations.telegram import inbound
from integrations.telegram.inbound import InboundProcessor

pytestmark = pytest.mark.sqlite_only  # PostgreSQL claims its rows instead (tests/test_inbound_claims.py)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def _processor(db, settings) -> InboundProcessor:
    """The processor on what it uses of the Telegram adapter (plain messages of open tickets need no more)."""
    adapter = SimpleNamespace(db=db, settings=settings, inbound=SimpleNamespace(parsed={}),
                              application=SimpleNamespace(bot=None), wake=lambda: None)
    adapter.app = SimpleNamespace(engine=SimpleNamespace(ports=SimpleNamespace(team_inbox=object()),
                                                         clock=lambda: T0), state=SimpleNamespace())
    adapter.customers = CustomerChat(adapter)
    return InboundProcessor(adapter)


def _open_ticket(db, settings, chat: int) -> None:
    with db.write_session() as s:
        customer, _ = ensure_customer(s, ChatPerson(chat_id=chat, first_name="Ann", language_code="en"))
        store_inbound(s, customer, chat_id=chat, message_id=1, text="hello", occurred_at=T0, settings=settings,
                      relay=True, details={"raw_text": "hello"})


def _append(db, chat: int, update_id: int) -> None:
    person = {"id": chat, "is_bot": False, "first_name": "Ann"}
    body = {"update_id": update_id, "message": {"message_id": update_id, "date": int(T0.timestamp()) + update_id,
                                                "from": person, "chat": {"id": chat, "type": "private"},
                                                "text": f"question number {update_id}?"}}
    with db.write_connection() as conn:
        telegram_inbound.append(conn, [(update_id, chat, json.dumps(body))])


def _stored(db, chat: int) -> list[str]:
    with db.session() as s:
        return list(s.exec(select(Interaction.source_message_id).where(
            Interaction.source_message_id.like(f"{chat}:%")).order_by(Interaction.id)).scalars())


def _settings(settings):
    return settings.model_copy(update={"business_hours": "00:00-23:59", "business_days": "mon,tue,wed,thu,fri,sat,sun"})


def test_a_round_reads_the_next_rounds_rows_in_its_write(db, settings, monkeypatch):
    settings = _settings(settings)
    _open_ticket(db, settings, 91_001)
    processor = _processor(db, settings)
    _append(db, 91_001, 11)
    reads = []
    pending = processor._pending
    monkeypatch.setattr(processor, "_pending", lambda: reads.append(1) or pending())
    write = processor._write

    def write_and_meanwhile(*args, **kw):  # updates acknowledged while the round worked
        _append(db, 91_001, 12)
        _append(db, 91_001, 13)
        return write(*args, **kw)

    monkeypatch.setattr(processor, "_write", write_and_meanwhile)
    singles, queued, erased, full = asyncio.run(processor._round(frozenset()))
    assert (singles, queued) == ([], True) and len(reads) == 1
    assert [row.update_id for row in processor._next[0]] == [12, 13]
    monkeypatch.setattr(processor, "_write", write)
    singles, queued, erased, full = asyncio.run(processor._round(frozenset()))
    assert len(reads) == 1  # the second round's rows came from the first round's write
    assert _stored(db, 91_001) == ["91001:1", "91001:11", "91001:12", "91001:13"]
    assert processor._next is None and not full


def test_rows_waiting_for_a_held_update_of_their_chat_are_not_read_round_after_round(db, settings):
    settings = _settings(settings)
    _open_ticket(db, settings, 92_001)
    processor = _processor(db, settings)
    _append(db, 92_001, 21)
    _append(db, 92_001, 22)
    with db.write_connection() as conn:  # 21 failed on its own and waits for its retry: its chat is held
        row_id = conn.execute(select(TelegramInbound.id).where(TelegramInbound.update_id == 21)).scalar_one()
        telegram_inbound.lease(conn, [row_id], holder=processor.holder, now=utcnow())
        telegram_inbound.failed(conn, row_id, holder=processor.holder, now=utcnow(), attempts=1, error="test")
    _append(db, 93_001, 31)  # another chat's update, not held, with no customer: handed to the per-update path
    singles, _, _, full = asyncio.run(processor._round(frozenset()))
    assert [row.update_id for row, _ in singles] == [31] and not full
    assert [row.update_id for row in processor._next[0]] == [22]  # read again by the write, still held
    assert asyncio.run(processor._round(frozenset())) == ([], False, False, False)  # not actionable: no write
    assert processor._next is None
    assert _stored(db, 92_001) == ["92001:1"]
    with db.write_connection() as conn:  # the retry is due: both go, in order
        conn.execute(TelegramInbound.__table__.update().where(TelegramInbound.id == row_id)
                     .values(lease_until=utcnow() - timedelta(seconds=1)))
    asyncio.run(processor._round(frozenset()))
    assert _stored(db, 92_001) == ["92001:1", "92001:21", "92001:22"]


async def _until(check, timeout: float) -> bool:
    """Polls ``check`` (a store read) until it holds or ``timeout`` seconds have passed."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def _hold_for_retry(db, processor, update_id: int) -> None:
    """The row failed on its own and waits for a retry far off: its chat's later rows are held behind it."""
    with db.write_connection() as conn:
        row_id = conn.execute(select(TelegramInbound.id).where(TelegramInbound.update_id == update_id)).scalar_one()
        telegram_inbound.lease(conn, [row_id], holder=processor.holder, now=utcnow())
        telegram_inbound.failed(conn, row_id, holder=processor.holder, now=utcnow(), attempts=100, error="test")


def test_rows_acknowledged_after_the_write_read_the_next_rows_are_not_left_for_the_poll(db, settings, monkeypatch):
    """The write read the next round's rows (all of a held chat); a batch acknowledged after that read woke the
    processor, whose next turn cleared the wake before using those rows: it must still see the new batch."""
    monkeypatch.setattr(inbound, "IDLE_POLL", 30.0)  # today's bug waits this long: the test fails by its timeout
    settings = _settings(settings)
    _open_ticket(db, settings, 94_001)
    _open_ticket(db, settings, 95_001)
    processor = _processor(db, settings)
    first_round = processor._round
    acknowledged = []

    async def round_then_a_batch_comes(inflight):
        if not acknowledged:  # after the start, which lapses the leases of a previous process
            _append(db, 95_001, 41)
            _append(db, 95_001, 42)
            _hold_for_retry(db, processor, 41)
            _append(db, 94_001, 43)
        out = await first_round(inflight)
        if not acknowledged:  # between the round's write (which read the next rows) and the wait
            acknowledged.append(processor._next)
            _append(db, 94_001, 44)
            processor.wake()  # as the webhook's writer does once a batch is committed
        return out

    monkeypatch.setattr(processor, "_round", round_then_a_batch_comes)

    async def scenario():
        processor.start()
        try:
            return await _until(lambda: _stored(db, 94_001) == ["94001:1", "94001:43", "94001:44"], 5.0)
        finally:
            await processor.stop()

    assert asyncio.run(scenario()), _stored(db, 94_001)
    assert [row.update_id for row in acknowledged[0][0]] == [42]  # the scenario: the next rows were all held
    assert _stored(db, 95_001) == ["95001:1"]  # still behind 41's retry


def test_a_new_chats_later_messages_are_stored_once_its_first_is_handled(db, settings, monkeypatch):
    """A new chat's first update goes one by one; its next message, acknowledged meanwhile, was read by the
    round's write while the first was in hand (its chat held). The first is handled before the next round:
    the second must be stored at once, not after the poll."""
    monkeypatch.setattr(inbound, "IDLE_POLL", 30.0)
    settings = _settings(settings)
    processor = _processor(db, settings)

    async def process(update) -> bool:  # the per-update path: the new chat's lead and ticket
        def store():
            with db.write_session() as s:
                customer, _ = ensure_customer(s, ChatPerson(chat_id=update.effective_chat.id, first_name="Ann",
                                                            language_code="en"))
                store_inbound(s, customer, chat_id=update.effective_chat.id, message_id=update.message.message_id,
                              text=update.message.text, occurred_at=update.message.date, settings=settings,
                              relay=True, details={"raw_text": update.message.text})
        await asyncio.to_thread(store)
        return True

    processor.adapter.process = process
    _append(db, 96_001, 51)
    write = processor._write
    written = []

    def write_and_meanwhile(*args, **kw):
        if not written:
            written.append(1)
            _append(db, 96_001, 52)  # acknowledged while the round worked: read by this write, its chat held
        return write(*args, **kw)

    monkeypatch.setattr(processor, "_write", write_and_meanwhile)
    rounds = processor._round
    seen_next = []

    async def round_after_the_single(inflight):
        if written and not seen_next:
            seen_next.append(processor._next)
            await asyncio.gather(*list(processor._singles))  # the first update was handled quickly
            inflight = frozenset(processor._inflight)
        return await rounds(inflight)

    monkeypatch.setattr(processor, "_round", round_after_the_single)

    async def scenario():
        processor.start()
        try:
            return await _until(lambda: _stored(db, 96_001) == ["96001:51", "96001:52"], 5.0)
        finally:
            await processor.stop()

    assert asyncio.run(scenario()), _stored(db, 96_001)
    assert [row.update_id for row in seen_next[0][0]] == [52] and 96_001 in seen_next[0][1]


def test_a_stopped_processor_forgets_the_rows_it_read_ahead(db, settings):
    settings = _settings(settings)
    _open_ticket(db, settings, 97_001)
    processor = _processor(db, settings)
    _append(db, 97_001, 61)
    with db.engine.connect() as conn:
        processor._next = telegram_inbound.pending(conn, limit=10, now=utcnow())
    asyncio.run(processor.stop())
    assert processor._next is None  # a restart reads afresh: these rows may be handled by then


def _append_chatless(db, update_id: int) -> None:
    """An update of no chat (a poll's new state): nothing to keep in order with."""
    body = {"update_id": update_id, "poll": {"id": str(update_id), "question": "?", "options": [], "total_voter_count": 0,
                                             "is_closed": True, "is_anonymous": True, "type": "regular",
                                             "allows_multiple_answers": False}}
    with db.write_connection() as conn:
        telegram_inbound.append(conn, [(update_id, None, json.dumps(body))])


def test_a_held_update_of_no_chat_holds_back_no_other(db, settings):
    """``pending`` reads which chats are held by ``claim``'s rule: an update of no chat waiting for its retry
    is no chat's earlier update (the hand-typed copy of the rule counted NULL as a held chat)."""
    processor = _processor(db, _settings(settings))
    _append_chatless(db, 71)
    _append_chatless(db, 72)
    _hold_for_retry(db, processor, 71)
    with db.engine.connect() as conn:
        rows, held = telegram_inbound.pending(conn, limit=10, now=utcnow())
    assert [r.update_id for r in rows] == [72] and held == set()
    asyncio.run(processor._round(frozenset()))
    with db.engine.connect() as conn:
        done = conn.execute(select(TelegramInbound.update_id).where(TelegramInbound.processed_at.is_not(None))).all()
    assert [u for (u,) in done] == [72]


def test_pending_follows_the_one_lease_rule(db, settings, monkeypatch):
    """A change to the rule of which rows are free (``_free``, ``claim``'s) reaches ``pending`` too."""
    processor = _processor(db, _settings(settings))
    _append(db, 98_001, 81)
    with db.write_connection() as conn:  # a lease that lapsed: free under today's rule
        row_id = conn.execute(select(TelegramInbound.id).where(TelegramInbound.update_id == 81)).scalar_one()
        telegram_inbound.lease(conn, [row_id], holder=processor.holder, now=utcnow() - timedelta(hours=1))
    with db.engine.connect() as conn:
        assert [r.update_id for r in telegram_inbound.pending(conn, limit=10, now=utcnow())[0]] == [81]
    table = TelegramInbound.__table__
    monkeypatch.setattr(telegram_inbound, "_free", lambda now: table.c.lease_until.is_(None))  # leases never lapse
    cached = getattr(telegram_inbound, "_pending_sql", None)
    getattr(cached, "cache_clear", lambda: None)()
    try:
        with db.engine.connect() as conn:
            assert telegram_inbound.pending(conn, limit=10, now=utcnow())[0] == []
    finally:
        getattr(cached, "cache_clear", lambda: None)()
