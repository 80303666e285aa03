"""Drives the real `crm-bot run` app (uvicorn on loopback) the way Telegram does.

``TelegramBot`` serves ``App(settings, db)`` with the Telegram adapter (webhook mode unless
asked otherwise) and, when given the Slack stand-in, the Slack adapter too. Its Bot API base
points at ``tests/fakes/telegram_api.py``. Updates are POSTed to ``/telegram/webhook`` with the
secret header, exactly as Telegram sends them.
"""
from __future__ import annotations

import time

import httpx
import pytest
from sqlmodel import col, func, select

from bot.app import App
from crm.models import Customer, InboxOutbox, Interaction, TelegramInbound, Ticket
from tests.fakes.telegram_api import TOKEN, FakeTelegramApi, UpdateFactory
from tests.slack_harness import SECRET as SLACK_SECRET, AppHost, SlackBot

WEBHOOK_SECRET = "webhook-secret_42"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_settings(settings, fake: FakeTelegramApi, *, webhook: bool = True, slack=None, **extra):
    update = {"telegram_bot_token": TOKEN, "telegram_api_url": fake.api_url,
              "telegram_webhook_url": "https://crm.example.test/telegram/webhook" if webhook else None,
              "telegram_webhook_secret": WEBHOOK_SECRET}
    if slack is not None:
        update |= {"slack_bot_token": "xoxb-test", "slack_signing_secret": SLACK_SECRET,
                   "slack_api_url": slack.api_url, "slack_inbox_channel": "C0INBOX"}
    return settings.model_copy(update=update | extra)


def eventually(check, timeout: float = 15, message: str = "condition never became true"):
    """Polls ``check`` until it returns something truthy (Slack acknowledges before it handles)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)


def unprocessed(db) -> int:
    """Telegram updates stored (acknowledged) and not yet processed."""
    with db.session() as s:
        return s.exec(select(func.count()).select_from(TelegramInbound)
                      .where(col(TelegramInbound.processed_at).is_(None))).one()


class TelegramBot:
    """``host``: the module's shared HTTP server (``app_host``); without one the bot has its own."""

    def __init__(self, db, settings, clock, fake: FakeTelegramApi, *, slack=None, host: AppHost | None = None):
        self.db, self.settings, self.clock, self.fake, self.slack = db, settings, clock, fake, slack
        self.updates = UpdateFactory()
        self.updates.now = clock.now
        self.http = httpx.Client(timeout=60)
        self._own_host = host is None
        self.host = AppHost().start() if host is None else host
        self.port = self.host.port
        self.url = f"http://127.0.0.1:{self.port}/telegram/webhook"
        self.app = None
        self.start()

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> "TelegramBot":
        self.app = App(self.settings, self.db, clock=self.clock)
        self.app.configure_adapters()
        self.host.mount(self.app)
        return self

    def stop(self) -> None:
        if self.host.app is self.app:
            self.host.unmount()

    def restart(self) -> None:
        """A new process on the same store: a fresh App and adapters (on the same port)."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._own_host:
            self.host.stop()
        self.http.close()

    @property
    def adapter(self):
        return next(a for a in self.app.adapters if a.name == "telegram")

    # ---- Telegram's side --------------------------------------------------------------------
    def post(self, update: dict, secret: str | None = WEBHOOK_SECRET, **kw) -> httpx.Response:
        """POSTs as Telegram does. A 200 means the update is stored; it is processed just after, and
        this waits for that too, so a test can look at the outcome at once."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = self.http.post(self.url, json=update, headers=headers, **kw)
        if response.status_code == 200:
            self.drained()
        return response

    def drained(self, timeout: float = 30) -> None:
        """Waits until every stored update is processed (webhook mode stores first, processes after)."""
        eventually(lambda: unprocessed(self.db) == 0, timeout, "stored Telegram updates were never processed")

    def send(self, update: dict) -> dict:
        """Delivers an update and checks that the bot acknowledged it."""
        response = self.post(update)
        assert response.status_code == 200, response.text
        return update

    def say(self, chat_id: int, text: str, **kw) -> dict:
        return self.send(self.updates.text(chat_id, text, **kw))

    # ---- what the bot did -------------------------------------------------------------------
    def replies(self, chat_id: int, count: int = 1, timeout: float = 15) -> list[str]:
        """The texts the bot sent to a chat, waiting until there are at least ``count``."""
        calls = self.fake.wait_for("sendMessage", count, timeout, where=lambda c: c.chat_id == chat_id)
        return [c.text for c in calls]

    def last_reply(self, chat_id: int, count: int = 1):
        return self.fake.wait_for("sendMessage", count, where=lambda c: c.chat_id == chat_id)[-1]

    def settle(self, timeout: float = 15) -> None:
        """Waits until the inbox outbox has nothing left to deliver."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.session() as s:
                busy = s.exec(select(InboxOutbox.id).where(col(InboxOutbox.status).in_(("pending", "sending")))
                              .limit(1)).first()
            if busy is None:
                return
            self.adapter.wake()
            time.sleep(0.05)
        raise AssertionError("the inbox outbox did not drain")

    # ---- the store --------------------------------------------------------------------------
    def customer(self, chat_id: int) -> Customer | None:
        with self.db.session() as s:
            return s.exec(select(Customer).where(Customer.telegram_chat_id == chat_id)).first()

    def interactions(self, customer_id: int | None = None, **where) -> list[Interaction]:
        with self.db.session() as s:
            stmt = select(Interaction).order_by(Interaction.id)
            if customer_id is not None:
                stmt = stmt.where(Interaction.customer_id == customer_id)
            for key, value in where.items():
                stmt = stmt.where(getattr(Interaction, key) == value)
            return list(s.exec(stmt).all())

    def tickets(self, customer_id: int) -> list[Ticket]:
        with self.db.session() as s:
            return list(s.exec(select(Ticket).where(Ticket.customer_id == customer_id).order_by(Ticket.id)).all())

    def outbox(self, **where) -> list[InboxOutbox]:
        with self.db.session() as s:
            stmt = select(InboxOutbox).order_by(InboxOutbox.id)
            for key, value in where.items():
                stmt = stmt.where(getattr(InboxOutbox, key) == value)
            return list(s.exec(stmt).all())


@pytest.fixture
def telegram_bot(db, settings, clock, telegram_api, team, app_host):
    bot = TelegramBot(db, telegram_settings(settings, telegram_api), clock, telegram_api, host=app_host)
    yield bot
    bot.close()


@pytest.fixture
def inbox(db, settings, clock, telegram_api, slack_api, team):
    """The whole customer inbox: Telegram customers on one side, the team's Slack threads on the other."""
    bot = TelegramBot(db, telegram_settings(settings, telegram_api, slack=slack_api), clock, telegram_api,
                      slack=slack_api)
    bot.slack_bot = SlackBot(bot.app, slack_api, bot.port)
    yield bot
    bot.slack_bot.close()
    bot.close()
