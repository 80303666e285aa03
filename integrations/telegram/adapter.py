"""Telegram, on python-telegram-bot: customers' chats become the team's inbox; staff get the CRM.

Two ways in, one path:

* webhook mode (``TELEGRAM_WEBHOOK_URL`` set): Telegram POSTs each update to
  ``/telegram/webhook``. The ``X-Telegram-Bot-Api-Secret-Token`` header is checked first
  (``hmac.compare_digest``; missing or wrong: 403, nothing read), then the size and the JSON.
  The raw update is stored (``telegram_inbound``, a group commit shared with the updates
  arriving meanwhile) *before* the 200 goes back, so whatever Telegram saw acknowledged is in
  the store, and a failed commit (500) is redelivered by Telegram. A processor then turns the
  stored updates into messages, tickets and sends (``integrations/telegram/inbound.py``).
* long polling (otherwise): our own ``getUpdates`` loop instead of PTB's Updater, because the
  Updater acknowledges a batch (by asking for the next offset) while the application may still
  be processing it. Here the offset moves past an update only after it is stored.

Redeliveries are harmless: the update id is claimed in the same transaction as the work
(``processed_event``), and each message is stored under its (chat id, message id).

A message from someone whose Telegram id belongs to a staff member goes to the engine as a
``/crm`` command (``integrations/telegram/staff.py``); everyone else is a customer
(``integrations/telegram/customer.py``). Sends to customers go through the inbox outbox
(``integrations/inbox_relay.py``), through PTB's ``AIORateLimiter`` (flood limits, RetryAfter).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import warnings

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import (BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup,
                      ReplyKeyboardRemove, Update)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder
from telegram.warnings import PTBUserWarning

from bot.metrics import metrics_of
from crm.i18n import NP_, language_name, pgettext
from crm.inbox.texts import say
from integrations.group_commit import GroupCommit
from integrations.inbox_relay import Blocked, InboxRelay, Undeliverable
from integrations.telegram.customer import CustomerChat
from integrations.telegram.inbound import InboundProcessor, InboundWriter, chat_of
from integrations.telegram.media import TelegramSends
from integrations.telegram.render import split_text
from integrations.telegram.staff import StaffChat
from integrations.telegram.updates import is_int64, loads_update, note_unparseable, strip_nul

log = logging.getLogger("crm.telegram")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
# Telegram delivers at most this many updates at once (its default is 40). Each is stored
# before it is acknowledged, and stores queue for one writer, so more parallel deliveries
# only make each wait longer: 10 keeps the store busy and every acknowledgement quick.
WEBHOOK_CONNECTIONS = 10
MAX_UPDATE_BYTES = 1_000_000  # Telegram's updates are a few KB; a bigger body is not from Telegram (413)
MAX_FAILURES_PER_UPDATE = 5  # then the update is dropped (logged) instead of blocking the chat forever
RATE_LIMIT_RETRIES = 3
POLL_TIMEOUT = 25
ANSWER_OK = b'{"ok":true}'
ANSWER_STARTING = b'{"ok":false,"error":"starting up"}'
ANSWER_TOO_LARGE = b'{"ok":false,"error":"update too large"}'
ANSWER_MALFORMED = b'{"ok":false,"error":"malformed update"}'
ANSWER_NOT_STORED = b'{"ok":false,"error":"not stored; please redeliver"}'

# the customer's command menu, described in each language Telegram is told about
CUSTOMER_COMMANDS = [("start", NP_("telegram menu", "connect with us")), ("help", NP_("telegram menu", "what you can do")),
                     ("status", NP_("telegram menu", "your request's status")),
                     ("language", NP_("telegram menu", "English or Chinese")),
                     ("stop", NP_("telegram menu", "no marketing messages")),
                     ("forgetme", NP_("telegram menu", "erase your data"))]
MENU_LANGUAGES = ("en", "zh")


def file_url_for(api_url: str) -> str:
    """``https://api.telegram.org/bot`` → ``https://api.telegram.org/file/bot`` (PTB's base_file_url)."""
    base = api_url.rstrip("/")
    return base[: -len("bot")] + "file/bot" if base.endswith("bot") else base + "/file/bot"


def _answer_when_stored(answer: asyncio.Future, stored: asyncio.Future) -> None:
    failed = stored.cancelled() or stored.exception() is not None  # (retrieved even if nobody waits any more)
    if not answer.done():  # else the request went away; its update stands (or not) all the same
        answer.set_result((500, ANSWER_NOT_STORED) if failed else (200, ANSWER_OK))


def webhook_secret(settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the bot token so every instance agrees on it."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hmac.new(settings.telegram_bot_token.encode(), b"crm-bot telegram webhook", hashlib.sha256).hexdigest()


class TelegramAdapter:
    name = "telegram"

    def __init__(self, app):
        self.app = app
        self.settings = app.settings
        self.db = app.db
        self.webhook_mode = bool(self.settings.telegram_webhook_url)
        self.secret = webhook_secret(self.settings)
        # the route is Starlette's for its other methods (405); a POST is answered at the edge (bot/edge.py), which
        # checks the secret header first, in constant time: the one place it is checked
        self.routes = [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])] if self.webhook_mode else []
        # path → (secret header, its secret, the function answering a POST there): bot/edge_routes.py route_limits
        self.edge_webhooks = {WEBHOOK_PATH: (SECRET_HEADER, self.secret, self.accept)} if self.webhook_mode else {}
        self.ingest = GroupCommit(app.db, metrics=metrics_of(app))  # customers' updates: one transaction per burst
        # webhook updates, stored before the 200; each committed batch wakes the processor
        self.inbound = InboundWriter(app.db, metrics=metrics_of(app), on_stored=self._stored)
        self.processor = InboundProcessor(self)
        self.application = None
        self.bot_name = "us"
        self.relay = InboxRelay(app, self)
        self.customers = CustomerChat(self)
        self.staff = StaffChat(self)
        self.sends = TelegramSends(self)
        self.poll_timeout = POLL_TIMEOUT
        self._poll_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chat_locks: dict[int, list] = {}
        self._failures: dict[int, int] = {}

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.application = (ApplicationBuilder().token(self.settings.telegram_bot_token)
                            .base_url(self.settings.telegram_api_url)
                            .base_file_url(file_url_for(self.settings.telegram_api_url))
                            .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
                            .updater(None).build())
        try:
            await self.application.initialize()  # getMe
        except InvalidToken:
            raise RuntimeError("TELEGRAM_BOT_TOKEN was refused by Telegram: copy it again from @BotFather") from None
        await self.application.start()
        me = self.application.bot
        self.bot_name = me.first_name or me.username or "us"
        ports = self.app.engine.ports
        ports.telegram_bot_username = me.username
        ports.customer_messenger = self
        self.app.delivery.register("telegram", self.staff.deliver)
        await self._set_commands()
        await self.relay.start()
        if self.webhook_mode:
            url = self.settings.telegram_webhook_url.rstrip("/")
            if not url.endswith(WEBHOOK_PATH):
                url += WEBHOOK_PATH
            await self.application.bot.set_webhook(url=url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES,
                                                   max_connections=WEBHOOK_CONNECTIONS)
            log.info("telegram: webhook set to %s", url)
            self.processor.start()
        else:
            await self.application.bot.delete_webhook()  # getUpdates is refused while a webhook is set
            self._poll_task = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram: long polling as @%s", me.username)

    async def _set_commands(self) -> None:
        with contextlib.suppress(TelegramError):
            for lang in MENU_LANGUAGES:
                await self.application.bot.set_my_commands(
                    [BotCommand(c, pgettext(lang, "telegram menu", d)) for c, d in CUSTOMER_COMMANDS],
                    language_code=None if lang == "en" else lang)

    async def stop(self) -> None:
        await self.processor.stop()
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poll_task
            self._poll_task = None
        await self.relay.stop()
        if self.application is not None:
            with contextlib.suppress(Exception):
                await self.application.stop()
            with contextlib.suppress(Exception):
                await self.application.shutdown()
            self.application = None

    # ------------------------------------------------------------ webhook

    async def webhook(self, request: Request) -> JSONResponse:
        """Starlette's endpoint of the route, never reached for a POST behind the edge (``edge_webhooks``): without
        the edge in front nothing has checked the secret, so nothing is taken here."""
        return JSONResponse({"ok": False, "error": "wrong or missing secret token"}, status_code=403)

    def accept(self, body: bytes) -> tuple[int, bytes] | asyncio.Future:
        """One webhook update, its secret already checked: (status, JSON answer) at once, or a future of it that
        resolves when the update's group commit is durable (200) or failed (500: Telegram redelivers). Answered
        at the edge (``edge_webhooks``; bot/edge.py checks the secret token in constant time and caps the size
        first, and its HTTP protocol serves the request itself): no Starlette objects, no task of its own."""
        if self.application is None:
            return 503, ANSWER_STARTING
        if len(body) > MAX_UPDATE_BYTES:
            return 413, ANSWER_TOO_LARGE
        try:
            # PostgreSQL text cannot hold NUL: a forged or broken update must not fail (and be redelivered) forever
            try:
                raw = body.decode("utf-8")  # stored as sent (valid JSON holds no NUL byte; escaped ones go at parsing)
            except UnicodeDecodeError:  # JSON in UTF-16/32 (json.loads detects it): stored as UTF-8 text
                data = loads_update(body)
                raw = json.dumps(data, ensure_ascii=False)
            else:
                raw = raw[1:] if raw[:1] == "\ufeff" else raw  # a byte-order mark json.loads(bytes) would skip
                data = loads_update(raw)
            if not isinstance(data, dict) or not is_int64(data.get("update_id")):
                raise ValueError("not an update")
        except Exception:
            return 400, ANSWER_MALFORMED
        # stored before the 200 (one commit shared with the updates arriving meanwhile); the processor reads
        # it when its turn comes (integrations/telegram/inbound.py)
        stored = self.inbound.submit(data["update_id"], chat_of(data), raw, data)
        answer = stored.get_loop().create_future()
        stored.add_done_callback(functools.partial(_answer_when_stored, answer))
        return answer

    def _stored(self) -> None:
        self.processor.wake()

    async def process(self, update: Update) -> bool:
        """Handles one update; False when it should be delivered again (nothing was acknowledged)."""
        try:
            await self.handle_update(update)
        except Exception:
            count = self._failures.get(update.update_id, 0) + 1
            self._failures[update.update_id] = count
            if count >= MAX_FAILURES_PER_UPDATE:
                log.exception("telegram: dropping update %s after %s failures", update.update_id, count)
                self._failures.pop(update.update_id, None)
                return True
            log.exception("telegram: update %s failed (attempt %s); it will be redelivered", update.update_id, count)
            return False
        self._failures.pop(update.update_id, None)
        return True

    # ------------------------------------------------------------ polling

    async def _poll(self) -> None:
        bot = self.application.bot
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=self.poll_timeout,
                                                read_timeout=self.poll_timeout + 10, allowed_updates=ALLOWED_UPDATES)
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(exc.retry_after if isinstance(exc.retry_after, (int, float))
                                    else exc.retry_after.total_seconds())
                continue
            except Conflict:
                log.error("telegram: another instance is polling, or a webhook is set; retrying in 10 s")
                await asyncio.sleep(10)
                continue
            except TelegramError as exc:
                log.warning("telegram: getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            except Exception:
                # PTB parses the batch as a whole: one update it cannot read fails them all, forever.
                # Read the batch raw and parse each update on its own (the same policy as the webhook)
                try:
                    updates = await self._parse_each(offset)
                except TelegramError as exc:
                    log.warning("telegram: getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 60)
                    continue
            for update in updates:
                if isinstance(update, int):  # an unparseable update, acknowledged (logged and counted)
                    offset = update + 1
                    continue
                if not await self.process(update):
                    await asyncio.sleep(1)
                    break  # ask again from this update: it is not acknowledged
                offset = update.update_id + 1

    async def _parse_each(self, offset: int | None) -> list:
        """The pending batch, each update parsed on its own: an Update, or the id of one that cannot be."""
        with warnings.catch_warnings():  # PTB suggests get_updates, which is exactly what cannot parse this batch
            warnings.simplefilter("ignore", PTBUserWarning)
            raw = await self.application.bot.do_api_request(
                "get_updates", api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": ALLOWED_UPDATES})
        parsed: list = []
        for data in raw or []:
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                continue
            try:
                parsed.append(Update.de_json(strip_nul(data), self.application.bot))
            except Exception as exc:
                note_unparseable(data, exc, metrics_of(self.app))
                parsed.append(data["update_id"])
        return parsed

    # ------------------------------------------------------------ dispatch

    @contextlib.asynccontextmanager
    async def _chat_lock(self, chat_id: int | None):
        """Updates of one chat are handled one at a time, in arrival order."""
        if chat_id is None:
            yield
            return
        entry = self._chat_locks.setdefault(chat_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._chat_locks.pop(chat_id, None)

    async def handle_update(self, update: Update) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            return  # groups and channels are not an inbox
        async with self._chat_lock(chat.id):
            user = update.effective_user
            staff_id = await asyncio.to_thread(self.staff.staff_id_for, user.id) if user else None
            if update.callback_query is not None:
                if staff_id is not None:
                    await self.staff.on_callback(update, staff_id)
                else:
                    await self.customers.on_callback(update)
            elif update.my_chat_member is not None:
                await self.customers.on_membership(update)
            elif update.effective_message is not None and user is not None:
                if staff_id is not None:
                    await self.staff.on_message(update, staff_id)
                else:
                    await self.customers.on_message(update)

    # ------------------------------------------------------------ sending to customers

    async def send_to_customer(self, chat_id: int, kind: str, payload: dict) -> str:
        """Sends one outbox row (called by the relay); maps Telegram's refusals to the relay's errors."""
        if kind in ("edit", "delete") or "html" in payload or payload.get("files"):
            return await self.sends.send(chat_id, kind, payload)  # staff replies from Slack, their edits
        bot = self.application.bot
        chunks = split_text(payload.get("text", ""))
        markup = self._markup(payload)
        message = None
        try:
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                message = await bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML,
                                                 reply_markup=markup if last else None)
        except Forbidden as exc:
            raise Blocked(str(exc)) from exc
        except (BadRequest, ChatMigrated) as exc:
            raise Undeliverable(f"Telegram refused the message: {exc}") from exc
        return str(message.message_id) if message else ""

    async def download_media(self, media: dict) -> bytes:
        """A customer's attachment (getFile, then the file URL), for the team's thread."""
        return await self.sends.download_media(media)

    def _markup(self, payload: dict):
        keyboard = payload.get("keyboard")
        lang = payload.get("lang", "en")
        if keyboard == "contact":
            return ReplyKeyboardMarkup([[KeyboardButton(say("share_phone_button", lang), request_contact=True)]],
                                       resize_keyboard=True, one_time_keyboard=True)
        if keyboard == "remove":
            return ReplyKeyboardRemove()
        if keyboard == "forget":
            return InlineKeyboardMarkup([[InlineKeyboardButton(say("forget_button", lang), callback_data="forget:yes")]])
        if keyboard == "language":
            return InlineKeyboardMarkup([[InlineKeyboardButton(language_name("en"), callback_data="lang:en"),
                                          InlineKeyboardButton(language_name("zh"), callback_data="lang:zh")]])
        if keyboard == "rating" and payload.get("ticket_id"):
            ticket_id = payload["ticket_id"]
            return InlineKeyboardMarkup([[InlineKeyboardButton(str(n), callback_data=f"rate:{ticket_id}:{n}")
                                          for n in range(1, 6)]])
        return None

    def wake(self) -> None:
        """Thread-safe: deliver queued outbox rows now."""
        self.relay.wake()
