"""Bursts, redeliveries, restarts and long polling: nothing acknowledged is lost, nothing is stored twice."""
from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from sqlmodel import col, select

from crm.models import Customer, Interaction, TelegramInbound
from tests.telegram_support import SECRET_HEADER, WEBHOOK_SECRET, TelegramBot, eventually, telegram_settings

CHATS = 100
PER_CHAT = 10


def burst_updates(bot: TelegramBot) -> dict[int, list[dict]]:
    """1,000 messages from 100 customers, English and Chinese, each chat's in order."""
    updates: dict[int, list[dict]] = {}
    for n in range(PER_CHAT):
        for chat in range(CHATS):
            chat_id = 900_000 + chat
            lang = "zh-hans" if chat % 3 == 0 else "en"
            text = f"第{n}条消息 from {chat}" if lang == "zh-hans" else f"message {n} from {chat}"
            updates.setdefault(chat_id, []).append(bot.updates.text(chat_id, text, lang=lang,
                                                                    first_name=f"Customer{chat}"))
    return updates


async def deliver(url: str, per_chat: dict[int, list[dict]], *, clients: int = 10, stop_at: threading.Event | None = None,
                  redeliver_every: int = 0) -> tuple[set[int], dict[int, list[dict]]]:
    """Posts each chat's updates in order, chats concurrently (like Telegram). Returns (acked update ids,
    each chat's updates that were not acknowledged, in order)."""
    acked: set[int] = set()
    unacked: dict[int, list[dict]] = {}
    chats = list(per_chat)
    headers = {SECRET_HEADER: WEBHOOK_SECRET}

    async def client(mine: list[int]) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            # interleave this client's chats: message 0 of each, then message 1 of each, …
            for n in range(max(len(per_chat[c]) for c in mine)):
                for chat in mine:
                    if chat in unacked or n >= len(per_chat[chat]):
                        if chat in unacked and n < len(per_chat[chat]):
                            unacked[chat].append(per_chat[chat][n])
                        continue
                    update = per_chat[chat][n]
                    try:
                        response = await http.post(url, json=update, headers=headers)
                        ok = response.status_code == 200
                        if ok and redeliver_every and update["update_id"] % redeliver_every == 0:
                            ok = (await http.post(url, json=update, headers=headers)).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        acked.add(update["update_id"])
                    else:
                        unacked[chat] = [update]

    await asyncio.gather(*(client(chats[i::clients]) for i in range(clients)))
    return acked, unacked


def assert_stored_once_in_order(db, per_chat: dict[int, list[dict]]) -> None:
    with db.session() as s:
        rows = s.exec(select(Interaction, Customer.telegram_chat_id).join(Customer)
                      .where(Interaction.direction == "inbound").order_by(Interaction.id)).all()
    stored: dict[int, list[Interaction]] = {}
    for interaction, chat_id in rows:
        stored.setdefault(chat_id, []).append(interaction)
    assert len(rows) == sum(len(u) for u in per_chat.values())
    for chat_id, updates in per_chat.items():
        expected = [u["message"]["text"] for u in updates]
        got = stored.get(chat_id, [])
        assert [i.text for i in got] == expected, chat_id
        assert [i.occurred_at for i in got] == sorted(i.occurred_at for i in got)
        assert len({i.ticket_id for i in got}) == 1


@pytest.mark.slow
def test_burst_of_1000_messages_from_100_customers(telegram_bot):
    per_chat = burst_updates(telegram_bot)
    acked, unacked = asyncio.run(deliver(telegram_bot.url, per_chat, redeliver_every=7))
    assert unacked == {} and len(acked) == CHATS * PER_CHAT
    telegram_bot.drained()
    assert_stored_once_in_order(telegram_bot.db, per_chat)
    with telegram_bot.db.session() as s:
        assert len(s.exec(select(Customer).where(Customer.telegram_chat_id >= 900_000)).all()) == CHATS


@pytest.mark.crash
def test_restart_in_the_middle_loses_nothing_acknowledged(telegram_bot):
    per_chat = burst_updates(telegram_bot)
    stopper = threading.Timer(1.0, telegram_bot.stop)  # the process goes away mid-burst
    stopper.start()
    acked, unacked = asyncio.run(deliver(telegram_bot.url, per_chat))
    stopper.join()
    assert unacked, "the restart came too late to interrupt the burst"
    # everything the old process acknowledged is in the store: processed into a message, or stored as it came
    # (and not processed yet: the next process does that)
    with telegram_bot.db.session() as s:
        stored_keys = set(s.exec(select(Interaction.source_message_id)).all())
        waiting = set(s.exec(select(TelegramInbound.update_id).where(col(TelegramInbound.processed_at).is_(None),
                                                                    col(TelegramInbound.body).is_not(None))).all())
    for updates in per_chat.values():
        for u in updates:
            if u["update_id"] in acked:
                assert (f"{u['message']['chat']['id']}:{u['message']['message_id']}" in stored_keys
                        or u["update_id"] in waiting), u["update_id"]
    # a new process on the same store; Telegram redelivers what was not acknowledged, and, being
    # Telegram, a few that were
    telegram_bot.start()
    again = {chat: list(updates) for chat, updates in unacked.items()}
    for chat, updates in list(per_chat.items())[:20]:
        again.setdefault(chat, [])
        again[chat] = [updates[0]] + again[chat] if updates[0]["update_id"] in acked else again[chat]
    acked_again, still = asyncio.run(deliver(telegram_bot.url, again))
    assert still == {}
    telegram_bot.drained()
    assert_stored_once_in_order(telegram_bot.db, per_chat)


def _stop_processing(bot: TelegramBot) -> None:
    """The instance keeps acknowledging (storing) updates but processes none: as if it died right after."""
    adapter = bot.adapter
    asyncio.run_coroutine_threadsafe(adapter.processor.stop(), adapter._loop).result(10)


def test_a_stop_that_comes_with_a_wake_stops_the_processor(telegram_bot):
    """Python 3.11's asyncio.wait_for returns the inner result and drops a cancellation that arrives as the
    inner wait completes: an idle processor woken (a batch stored, a single finished) in the same turn as
    stop() cancelled it kept running, and stop() waited on it for ever (seen as a 10 s stop under load)."""
    adapter = telegram_bot.adapter
    processor = adapter.processor

    async def wake_and_stop() -> bool:
        await asyncio.sleep(0.3)  # the processor is idle, waiting for a wake
        processor.wake()
        stopping = asyncio.ensure_future(processor.stop())  # stop() cancels at once, in the wake's turn
        done, _ = await asyncio.wait([stopping], timeout=3)  # (a stop takes milliseconds; the fault, for ever)
        if not done:
            stopping.cancel()  # cancels the processor's task once more, so the fixture can close
        return bool(done)

    assert asyncio.run_coroutine_threadsafe(wake_and_stop(), adapter._loop).result(15), "stop() never returned"
    assert processor._task is None


def test_an_acknowledged_update_is_stored_before_processing_and_a_restart_processes_it(telegram_bot):
    bot = telegram_bot
    bot.say(7100, "first, to open the ticket")
    _stop_processing(bot)
    update = bot.updates.text(7100, "acknowledged, then the process died")
    response = bot.http.post(bot.url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert response.status_code == 200
    # Telegram did not see that 200 and redelivers: still one row
    assert bot.http.post(bot.url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}).status_code == 200
    with bot.db.session() as s:
        rows = s.exec(select(TelegramInbound).where(TelegramInbound.update_id == update["update_id"])).all()
    assert len(rows) == 1 and rows[0].processed_at is None and "acknowledged, then" in rows[0].body
    assert [i.text for i in bot.interactions()] == ["first, to open the ticket"]
    bot.restart()  # a new process on the same store resumes from what is unprocessed
    bot.drained()
    assert [i.text for i in bot.interactions()] == ["first, to open the ticket", "acknowledged, then the process died"]
    with bot.db.session() as s:
        row = s.exec(select(TelegramInbound).where(TelegramInbound.update_id == update["update_id"])).one()
    assert row.processed_at is not None and row.body is None  # the customer's words are not kept twice
    # a redelivery after processing is still a no-op
    bot.send(update)
    assert len(bot.interactions()) == 2


def test_a_chats_messages_keep_their_order_across_batched_and_single_handling(telegram_bot):
    """A command between ordinary messages is handled on its own; the messages after it wait for it."""
    bot = telegram_bot
    bot.say(7200, "hello")  # a new chat: lead and ticket
    _stop_processing(bot)
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    sent = [bot.updates.text(7200, "one"), bot.updates.text(7200, "/status"), bot.updates.text(7200, "two"),
            bot.updates.text(7201, "other chat, first message"), bot.updates.text(7200, "three")]
    for u in sent:
        assert bot.http.post(bot.url, json=u, headers=headers).status_code == 200
    bot.restart()
    bot.drained()
    customer = bot.customer(7200)
    assert [i.text for i in bot.interactions(customer.id)] == ["hello", "one", "two", "three"]
    assert len(bot.tickets(customer.id)) == 1
    assert bot.customer(7201) is not None
    assert any("#" in t for t in bot.replies(7200))  # /status answered with the ticket


def test_polling_mode_stores_each_update_before_acknowledging_it(db, settings, clock, telegram_api, team):
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, webhook=False), clock, telegram_api)
    try:
        assert bot.app.routes[-1].path != "/telegram/webhook"  # no webhook route in polling mode
        assert telegram_api.calls_to("deleteWebhook")
        violations: list[int] = []

        def check(offset: int) -> None:
            with db.session() as s:
                stored = {int(k.split(":")[1]) for k in s.exec(select(Interaction.source_message_id)).all()}
            for u in sent:
                if u["update_id"] < offset and u["message"]["message_id"] not in stored:
                    violations.append(u["update_id"])

        sent = [bot.updates.text(8000 + i % 5, f"polled {i}") for i in range(40)]
        telegram_api.on_ack = check
        telegram_api.push(*sent[:20])
        telegram_api.push(sent[3])  # a redelivery
        telegram_api.push(*sent[20:])
        eventually(lambda: len(bot.interactions()) == 40, message="not every polled update was stored")
        eventually(lambda: telegram_api.acked_offset == sent[-1]["update_id"] + 1 or
                   telegram_api.pending_updates() == [], message="updates were never acknowledged")
        assert violations == []
        assert len(bot.interactions()) == 40
        # a customer's /start is answered in polling mode too
        telegram_api.push(bot.updates.start(8100, first_name="Poll"))
        assert "Hello Poll" in bot.replies(8100)[0]
    finally:
        bot.close()


def test_staff_reminders_reach_telegram_through_delivery(telegram_bot, team):
    from bot.replies import Button, Reply
    from crm.models import Staff

    with telegram_bot.db.session() as s:
        alice = s.get(Staff, team.alice)
    long_text = "\n".join(f"line {i} <b>not bold</b> & more" for i in range(400))  # > 4096 characters
    reply = Reply(text="⏰ Reminder: call Globex", fields=[("Notes", long_text)],
                  buttons=[Button("Done", "done #1", style="primary"), Button("Snooze", "snooze #1", form="snooze")])
    loop = telegram_bot.adapter._loop
    platform = asyncio.run_coroutine_threadsafe(telegram_bot.app.delivery.to_staff(alice, reply), loop).result(20)
    assert platform == "slack" or platform == "telegram"
    alice.prefers_telegram = True
    assert asyncio.run_coroutine_threadsafe(telegram_bot.app.delivery.to_staff(alice, reply), loop).result(20) \
        == "telegram"
    messages = telegram_bot.fake.calls_to("sendMessage", 5001)
    assert len(messages) >= 2 and all(len(m.text) <= 4096 for m in messages)
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; more" in messages[0].text
    assert messages[-1].button_data() and not messages[0].markup
    # pressing Snooze (a form button) explains what to type; Done runs the command as Alice
    snooze_key, done_key = messages[-1].button_data()[1], messages[-1].button_data()[0]
    telegram_bot.send(telegram_bot.updates.callback(5001, snooze_key, first_name="Alice"))
    assert "/crm snooze #1 &lt;when&gt;" in telegram_bot.replies(5001, len(messages) + 1)[-1]
    telegram_bot.send(telegram_bot.updates.callback(5001, done_key, first_name="Alice"))
    last = telegram_bot.replies(5001, len(messages) + 2)[-1]
    assert "#1" in last
    # somebody else's chat cannot press Alice's buttons
    telegram_bot.send(telegram_bot.updates.callback(7777, done_key))
    assert telegram_bot.fake.calls_to("sendMessage", 7777) == []
