"""Two instances draining one PostgreSQL queue of Telegram updates (issue 17).

Each processor claims whole chats' rows (crm.telegram_inbound.claim): no update is parsed or stored
by both, each chat's messages are stored in the order they came whichever instance stored them, and
the rows a dead instance had claimed are taken over once their lease lapses.
"""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from crm import telegram_inbound
from crm.types import utcnow
from integrations.telegram import inbound
from tests.telegram_support import SECRET_HEADER, WEBHOOK_SECRET, TelegramBot, eventually, telegram_settings, unprocessed

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

CHATS = 24
PER_CHAT = 8


@pytest.fixture
def two_instances(db, settings, clock, telegram_api, team):
    """Two `crm-bot run` apps (each its own HTTP server and processor) on one PostgreSQL store."""
    config = telegram_settings(settings, telegram_api)
    bots = [TelegramBot(db, config, clock, telegram_api), TelegramBot(db, config, clock, telegram_api)]
    bots[1].updates = bots[0].updates  # one Telegram: update ids never repeat across the two
    yield bots
    for bot in bots:
        bot.close()


def _processor_call(bot: TelegramBot, name: str) -> None:
    processor = bot.adapter.processor
    loop = bot.adapter._loop
    if name == "stop":
        asyncio.run_coroutine_threadsafe(processor.stop(), loop).result(10)
    else:
        loop.call_soon_threadsafe(processor.start)


def _record_parses(monkeypatch) -> list[tuple[str, int]]:
    """(processor, update id) of every stored update a processor reads to handle it (``_data``: its JSON,
    then read as plain text or parsed by python-telegram-bot)."""
    parsed: list[tuple[str, int]] = []
    real = inbound.InboundProcessor._data

    def recording(self, row):
        parsed.append((self.holder, row.update_id))
        return real(self, row)

    monkeypatch.setattr(inbound.InboundProcessor, "_data", recording)
    return parsed


def _texts_per_chat(bot: TelegramBot, chats) -> dict[int, list[str]]:
    return {chat: [i.text for i in bot.interactions(bot.customer(chat).id)] for chat in chats}


def _open_chats(bot: TelegramBot, chats) -> None:
    for chat in chats:
        bot.say(chat, f"hello from {chat}")  # a lead and an open ticket: later messages go the batch path


def test_two_processors_store_disjoint_shares_in_each_chats_order(two_instances, monkeypatch):
    a, b = two_instances
    chats = [930_000 + n for n in range(CHATS)]
    _open_chats(a, chats)
    for bot in (a, b):
        _processor_call(bot, "stop")
    # small claims, each held a while before its write (as on a busy machine), so that both instances get a
    # share of a backlog this size: unslowed, the first one to start can drain it before the other's first look
    monkeypatch.setattr(inbound, "PROCESS_BATCH", 10)
    write = inbound.InboundProcessor._write

    def slow_write(self, *args, **kw):
        time.sleep(0.05)  # a worker thread: the event loops go on meanwhile
        return write(self, *args, **kw)

    monkeypatch.setattr(inbound.InboundProcessor, "_write", slow_write)
    parsed = _record_parses(monkeypatch)
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    expected = {chat: [f"hello from {chat}"] for chat in chats}
    for n in range(PER_CHAT):  # as Telegram sends: chats interleaved, each chat's in order, to either instance
        for k, chat in enumerate(chats):
            bot = (a, b)[(n + k) % 2]
            update = a.updates.text(chat, f"message {n} of {chat}")
            assert bot.http.post(bot.url, json=update, headers=headers).status_code == 200
            expected[chat].append(f"message {n} of {chat}")
    assert unprocessed(a.db) == CHATS * PER_CHAT
    for bot in (a, b):
        _processor_call(bot, "start")
    a.drained()

    holders = {holder for holder, _ in parsed}
    ids = [update_id for _, update_id in parsed]
    assert len(ids) == len(set(ids)) == CHATS * PER_CHAT  # every update parsed once, by one instance
    assert holders == {a.adapter.processor.holder, b.adapter.processor.holder}  # both did a share
    assert _texts_per_chat(a, chats) == expected  # stored once each, in each chat's order


def test_a_dead_instances_claimed_chats_wait_for_its_lease_then_are_taken_over(two_instances, monkeypatch):
    a, b = two_instances
    monkeypatch.setattr(telegram_inbound, "LEASE", timedelta(seconds=3))
    chats = [940_000 + n for n in range(6)]
    _open_chats(a, chats)
    for bot in (a, b):
        _processor_call(bot, "stop")
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    expected = {chat: [f"hello from {chat}"] for chat in chats}

    def deliver(n: int) -> None:
        for chat in chats:
            update = a.updates.text(chat, f"message {n} of {chat}")
            assert a.http.post(a.url, json=update, headers=headers).status_code == 200
            expected[chat].append(f"message {n} of {chat}")

    deliver(0)
    # an instance claims the first three chats' rows and is killed (kill -9: nothing given back)
    with a.db.write_connection() as conn:
        taken, _ = telegram_inbound.claim(conn, limit=3, now=utcnow(), holder="dead-host:1:dead")
    claimed_at = time.monotonic()
    dead_chats = {row.chat_id for row in taken}
    assert dead_chats == set(chats[:3])
    deliver(1)  # later messages of the dead instance's chats must wait behind its rows
    parsed = _record_parses(monkeypatch)
    _processor_call(b, "start")  # the survivor

    live_chats = [c for c in chats if c not in dead_chats]
    eventually(lambda: all(len(t) == 3 for t in _texts_per_chat(b, live_chats).values()), 10,
               "the live chats were not processed")
    if time.monotonic() - claimed_at < 2.5:  # still within the dead instance's lease (a slow machine may be past it)
        assert all(len(t) == 1 for t in _texts_per_chat(b, dead_chats).values())  # not taken, nor overtaken
    b.drained(timeout=20)
    assert _texts_per_chat(b, chats) == expected  # taken over, each chat in order, once
    ids = [update_id for _, update_id in parsed]
    assert len(ids) == len(set(ids)) == 2 * len(chats)
