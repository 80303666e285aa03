"""A stand-in for the remote Telegram Bot API, for tests that run the real python-telegram-bot code.

A real HTTP server on 127.0.0.1 (aiohttp, in a background thread with its own event loop).
Point ``TELEGRAM_API_URL`` at ``fake.api_url`` (``http://127.0.0.1:<port>/bot``); the bot then
calls ``<base><token>/<method>`` with form-encoded, JSON or multipart bodies, as Telegram
expects. The fake

* answers getMe, setWebhook, deleteWebhook, getWebhookInfo, getUpdates (a queue you push to;
  offset acknowledges, timeout long-polls), sendMessage, editMessageText,
  editMessageReplyMarkup, answerCallbackQuery, sendPhoto, sendDocument, sendChatAction,
  setMyCommands and getFile, and records every call;
* fails on request: ``fake.fail_next("sendMessage", retry_after=1)`` answers 429 with
  ``parameters.retry_after``; ``fake.block(chat_id)`` makes every send to that chat a 403
  "Forbidden: bot was blocked by the user".

``UpdateFactory`` builds realistic updates (text, /start with payload, contact, photo with
caption, document, callback query, blocked-by-user), with ``language_code`` "en" or "zh-hans".
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.background_server import BackgroundServer

TOKEN = "123456:TEST-token_for-the-fake"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Acme Support", "username": "acme_support_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup",
                "editMessageCaption", "deleteMessage", "sendChatAction"}
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile: bots can download files of up to 20 MB


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    error: str | None = None  # the scripted failure this call got

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value not in (None, "") else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def markup(self) -> dict:
        return self.params.get("reply_markup") or {}

    def button_data(self) -> list[str]:
        return [b.get("callback_data") for row in self.markup.get("inline_keyboard", []) for b in row]


@dataclass
class Failure:
    status: int
    description: str
    parameters: dict = field(default_factory=dict)


class FakeTelegramApi(BackgroundServer):
    thread_name = "fake-telegram"

    def __init__(self, token: str = TOKEN):
        super().__init__()
        self.token = token
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] = {}
        self.acked_offset = 0
        self.on_ack = None  # called (in the fake's thread) with each new offset before it forgets updates
        self._updates: list[dict] = []
        self._blocked: set[int] = set()
        self._failures: dict[str, deque[Failure]] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._message_ids = itertools.count(50_000)
        self._pushed: asyncio.Event | None = None
        self._closing = False
        self.files: dict[str, tuple[str, bytes, int]] = {}  # file_id → (file_path, content, size Telegram reports)
        self.messages: dict[tuple[int, int], dict] = {}  # what the bot sent and has not deleted, by (chat, id)

    # ------------------------------------------------------------ lifecycle

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)

    async def after_start(self) -> None:
        self._pushed = asyncio.Event()

    async def before_stop(self) -> None:
        self._closing = True
        self._pushed.set()  # ends pending long polls at once

    @property
    def api_url(self) -> str:
        """The TELEGRAM_API_URL for the bot: the token and method are appended."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ------------------------------------------------------------ scripting

    def push(self, *updates: dict) -> None:
        """Queue updates for getUpdates (polling mode)."""
        with self._lock:
            self._updates.extend(updates)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._pushed.set)

    def add_file(self, file_id: str, content: bytes, *, path: str | None = None, size: int | None = None) -> None:
        """A file customers have sent: getFile describes it and the file URL serves it. ``size`` may
        claim more than ``content`` holds (a 48 MB video without 48 MB of test data)."""
        with self._lock:
            self.files[file_id] = (path or f"documents/file_{len(self.files)}", content,
                                   len(content) if size is None else size)

    def block(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.add(int(chat_id))

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(int(chat_id))

    def fail_next(self, method: str, *, retry_after: int | None = None, status: int = 500,
                  description: str = "Internal Server Error", times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail: 429 + retry_after, or the given status."""
        if retry_after is not None:
            failure = Failure(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        else:
            failure = Failure(status, description)
        with self._lock:
            self._failures.setdefault(method, deque()).extend([failure] * times)

    def calls_to(self, method: str, chat_id: int | None = None, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)
                    and (c.ok or not ok_only)]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful sends (messages, photos, documents) to one chat, in order."""
        with self._lock:
            return [c for c in self.calls if c.ok and c.method in ("sendMessage", "sendPhoto", "sendDocument")
                    and c.chat_id == chat_id]

    def wait_for(self, method: str, count: int = 1, timeout: float = 15.0, where=None) -> list[Call]:
        """Blocks until ``count`` successful calls of ``method`` (matching ``where``) were made."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method and c.ok and (where is None or where(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {method} call(s), got {len(found)}: "
                                         f"{[c.params for c in found][-5:]}")
                self._changed.wait(left)

    async def await_for(self, method: str, count: int = 1, timeout: float = 15.0, where=None) -> list[Call]:
        """``wait_for`` for async tests: the waiting happens off the event loop."""
        return await asyncio.to_thread(self.wait_for, method, count, timeout, where)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # ------------------------------------------------------------ HTTP

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.read()
            if body:
                params.update(json.loads(body))
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if hasattr(value, "filename"):
                    data = value.file.read()
                    params[key] = value.filename
                    params.setdefault("_uploads", {})[key] = {"filename": value.filename, "size": len(data),
                                                               "content_type": value.content_type}
                else:
                    params[key] = value
        for key, value in list(params.items()):
            # the Bot API takes objects (reply_markup, …) as JSON strings inside a form
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _take_failure(self, method: str, params: dict) -> Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            if queue:
                return queue.popleft()
            chat = params.get("chat_id")
            if method in SEND_METHODS and chat not in (None, "") and int(chat) in self._blocked:
                return Failure(403, "Forbidden: bot was blocked by the user")
        return None

    @staticmethod
    def _error(failure: Failure) -> web.Response:
        body = {"ok": False, "error_code": failure.status, "description": failure.description}
        if failure.parameters:
            body["parameters"] = failure.parameters
        return web.json_response(body, status=failure.status)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        failure = self._take_failure(method, params)
        if failure is not None:
            self._record(Call(method, params, error=failure.description))
            return self._error(failure)
        if method == "getUpdates":
            result = await self._get_updates(params)
        else:
            try:
                result = self._answer(method, params)
            except LookupError as refused:  # what Telegram answers 400 to
                failure = Failure(400, str(refused.args[0]))
                self._record(Call(method, params, error=failure.description))
                return self._error(failure)
            if result is None:
                self._record(Call(method, params, error="method not found"))
                return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        self._record(Call(method, params))
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), 30.0)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                new_ack = offset > self.acked_offset
            if new_ack and self.on_ack is not None:
                self.on_ack(offset)
            with self._lock:
                if offset:
                    # an offset acknowledges every update before it: Telegram forgets them
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                    self.acked_offset = max(self.acked_offset, offset)
                pending = self._updates[:limit]
            left = deadline - time.monotonic()
            if pending or left <= 0 or self._closing:
                return pending
            self._pushed.clear()
            try:
                await asyncio.wait_for(self._pushed.wait(), timeout=left)
            except asyncio.TimeoutError:
                pass

    def pending_updates(self) -> list[dict]:
        with self._lock:
            return list(self._updates)

    def _message(self, params: dict, **content) -> dict:
        chat_id = int(params.get("chat_id") or 0)
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "first_name": "Chat"},
                   "from": BOT_USER, **content}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"] if "inline_keyboard" in params["reply_markup"] else None
            if message["reply_markup"] is None:
                del message["reply_markup"]
        return message

    def _answer(self, method: str, p: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "setWebhook":
            self.webhook = {"url": p.get("url"), "secret_token": p.get("secret_token"),
                            "allowed_updates": p.get("allowed_updates"),
                            "max_connections": int(p.get("max_connections") or 40)}
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getWebhookInfo":
            return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}
        if method == "sendMessage":
            return self._remember(self._message(p, text=str(p.get("text", ""))))
        if method == "editMessageReplyMarkup":
            return self._message(p, text=str(p.get("text", "")))
        if method in ("editMessageText", "editMessageCaption"):
            return self._edit(method, p)
        if method == "deleteMessage":
            key = (int(p.get("chat_id") or 0), int(p.get("message_id") or 0))
            with self._lock:
                if self.messages.pop(key, None) is None:
                    raise LookupError("Bad Request: message to delete not found")
            return True
        if method == "sendPhoto":
            return self._remember(self._message(p, photo=[{"file_id": "photo-1", "file_unique_id": "u-photo-1",
                                                           "width": 90, "height": 90}], caption=p.get("caption")))
        if method == "sendDocument":
            return self._remember(self._message(p, document={"file_id": "doc-1", "file_unique_id": "u-doc-1",
                                                             "file_name": str(p.get("document") or "file")},
                                                caption=p.get("caption")))
        if method in ("answerCallbackQuery", "sendChatAction", "setMyCommands", "deleteMyCommands"):
            return True
        if method == "getFile":
            with self._lock:
                known = self.files.get(str(p.get("file_id")))
            if known is None:
                raise LookupError("Bad Request: invalid file_id")
            path, _, size = known
            if size > DOWNLOAD_LIMIT:
                raise LookupError("Bad Request: file is too big")
            return {"file_id": p.get("file_id"), "file_unique_id": f"u-{p.get('file_id')}",
                    "file_size": size, "file_path": path}
        return None

    def _remember(self, message: dict) -> dict:
        with self._lock:
            self.messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    def _edit(self, method: str, p: dict) -> dict:
        key = (int(p.get("chat_id") or 0), int(p.get("message_id") or 0))
        field_name = "text" if method == "editMessageText" else "caption"
        with self._lock:
            message = self.messages.get(key)
            if message is None:
                raise LookupError("Bad Request: message to edit not found")
            new = str(p.get(field_name) or "")
            if message.get(field_name) == new:
                raise LookupError("Bad Request: message is not modified: specified new message content and "
                                  "reply markup are exactly the same as a current content and reply markup of the "
                                  "message")
            message = dict(message, **{field_name: new, "edit_date": int(time.time())})
            self.messages[key] = message
        return message

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        path = request.match_info["path"]
        with self._lock:
            found = next((content for p, content, _ in self.files.values() if p == path), None)
        self._record(Call("file", {"path": path}, error=None if found is not None else "not found"))
        if found is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=found)


class UpdateFactory:
    """Realistic Telegram updates with increasing update and message ids."""

    def __init__(self, first_update_id: int = 100_000):
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)
        self.now: datetime | None = None  # when set, messages are dated at this moment

    def _date(self, date: datetime | None) -> int:
        moment = date or self.now
        return int(moment.timestamp()) if moment else int(time.time())

    @staticmethod
    def user(chat_id: int, first_name: str = "Ann", last_name: str | None = None, username: str | None = None,
             lang: str = "en") -> dict:
        user = {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": lang}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        return user

    def message(self, chat_id: int, *, first_name: str = "Ann", last_name: str | None = None,
                username: str | None = None, lang: str = "en", date: datetime | None = None,
                message_id: int | None = None, update_id: int | None = None, **content) -> dict:
        sender = self.user(chat_id, first_name, last_name, username, lang)
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        message = {"message_id": message_id or next(self._message_ids), "date": self._date(date),
                   "chat": chat, "from": sender, **content}
        return {"update_id": update_id or next(self._update_ids), "message": message}

    def text(self, chat_id: int, text: str, **kw) -> dict:
        entities = []
        if text.startswith("/"):
            command = text.split()[0]
            entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.message(chat_id, text=text, **({"entities": entities} if entities else {}), **kw)

    def start(self, chat_id: int, payload: str | None = None, **kw) -> dict:
        return self.text(chat_id, "/start" + (f" {payload}" if payload else ""), **kw)

    def contact(self, chat_id: int, phone: str, *, own: bool = True, contact_name: str | None = None,
                **kw) -> dict:
        contact = {"phone_number": phone, "first_name": contact_name or kw.get("first_name", "Ann")}
        if own:
            contact["user_id"] = chat_id
        return self.message(chat_id, contact=contact, **kw)

    def photo(self, chat_id: int, caption: str | None = None, **kw) -> dict:
        photo = [{"file_id": "AgAD-small", "file_unique_id": "small", "width": 90, "height": 90},
                 {"file_id": "AgAD-large", "file_unique_id": "large", "width": 1280, "height": 960}]
        return self.message(chat_id, photo=photo, **({"caption": caption} if caption else {}), **kw)

    def document(self, chat_id: int, file_name: str = "invoice.pdf", caption: str | None = None, **kw) -> dict:
        document = {"file_id": "BQAD-doc", "file_unique_id": "doc", "file_name": file_name,
                    "mime_type": "application/pdf", "file_size": 1234}
        return self.message(chat_id, document=document, **({"caption": caption} if caption else {}), **kw)

    def callback(self, chat_id: int, data: str, *, message_id: int = 1, first_name: str = "Ann",
                 lang: str = "en") -> dict:
        return {"update_id": next(self._update_ids), "callback_query": {
            "id": f"cb{next(self._message_ids)}", "from": self.user(chat_id, first_name, lang=lang),
            "chat_instance": f"ci{chat_id}", "data": data,
            "message": {"message_id": message_id, "date": self._date(None),
                        "chat": {"id": chat_id, "type": "private", "first_name": first_name},
                        "from": BOT_USER, "text": "…"}}}

    def blocked(self, chat_id: int, first_name: str = "Ann") -> dict:
        """The my_chat_member update Telegram sends when a user blocks the bot."""
        user = self.user(chat_id, first_name)
        return {"update_id": next(self._update_ids), "my_chat_member": {
            "chat": {"id": chat_id, "type": "private", "first_name": first_name}, "from": user,
            "date": self._date(None),
            "old_chat_member": {"status": "member", "user": BOT_USER},
            "new_chat_member": {"status": "kicked", "user": BOT_USER, "until_date": 0}}}


@pytest.fixture(scope="module")
def telegram_api_server():
    """One Bot API stand-in per test module."""
    fake = FakeTelegramApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def telegram_api(telegram_api_server):
    """The module's Bot API stand-in, reset: no calls, updates, blocks or failures from earlier tests."""
    telegram_api_server.reset()
    return telegram_api_server
