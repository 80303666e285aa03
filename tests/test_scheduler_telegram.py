"""Staff who prefer Telegram get their digest (with the chart as a photo) and reminders there,
through the real python-telegram-bot adapter and the Bot API stand-in."""
from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from crm.models import Staff, Task
from scheduler.service import SchedulerService
from tests.helpers import utc
from tests.scheduler_support import FAST_PASS
from tests.telegram_support import telegram_settings

pytestmark = pytest.mark.timeout(120)

ALICE_CHAT = 5001  # Alice's Telegram user id (tests/helpers.py)


@pytest.fixture
def running_bot(db, settings, clock, telegram_api, team, app_host):
    with db.session() as s:
        alice = s.get(Staff, team.alice)
        alice.prefers_telegram, alice.digest_subscribed = True, True
        s.add(alice)
    clock.now = utc(2026, 11, 23, 12, 59)  # 07:59 in New York
    app = App(telegram_settings(settings, telegram_api), db, clock=clock)
    app.configure_adapters()
    app.scheduler = SchedulerService(app, pass_seconds=FAST_PASS)
    app_host.mount(app)

    def at(moment):
        clock.now = moment
        asyncio.run_coroutine_threadsafe(app.scheduler.next_pass(), app.scheduler.loop).result(30)

    at(clock.now)
    yield at
    app_host.unmount()


def test_a_rep_who_prefers_telegram_gets_the_digest_and_its_chart_there(running_bot, telegram_api, db, team):
    with db.session() as s:
        s.add(Task(owner_id=team.alice, customer_id=team.globex, title="send the proposal",
                   due_at=utc(2026, 11, 23, 13, 30), reminded_at=None))
    assert telegram_api.sent_to(ALICE_CHAT) == []
    running_bot(utc(2026, 11, 23, 13, 0, 10))  # 08:00 in New York
    sent = telegram_api.sent_to(ALICE_CHAT)
    assert [c.method for c in sent] == ["sendMessage", "sendPhoto"]
    assert "Your morning digest" in sent[0].text and "send the proposal" in sent[0].text

    running_bot(utc(2026, 11, 23, 13, 30, 5))
    [reminder] = [c for c in telegram_api.sent_to(ALICE_CHAT)[2:] if c.method == "sendMessage"]
    assert "send the proposal" in reminder.text and len(reminder.button_data()) == 4

    running_bot(utc(2026, 11, 23, 15))
    assert len(telegram_api.sent_to(ALICE_CHAT)) == 3
