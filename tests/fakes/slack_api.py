"""A stand-in for the remote Slack Web API, for tests that run the real slack-bolt / slack_sdk code.

It is a real HTTP server on 127.0.0.1 (aiohttp, in a background thread with its own event
loop). Point ``AsyncWebClient(base_url=fake.api_url)`` (``SLACK_API_URL``) at it. It

* accepts every ``GET|POST /api/<method>`` (form, query string or JSON), records
  ``(method, params, headers)`` and answers a realistic payload for the methods the bot uses;
* serves ``response_url`` endpoints (``fake.response_url("cmd1")``) and records what
  ``respond()`` posts there as method ``"response"``;
* serves upload URLs, so ``files_upload_v2`` works end to end (uploaded bytes are kept);
* serves files' ``url_private`` (``/files-pri/…``, registered with ``fake.add_file``) to requests with
  the bot token, and Slack's sign-in page (HTML, status 200) to requests without it;
* serves a Socket Mode WebSocket (``apps.connections.open`` hands out its URL);
* keeps what the bot posted (``fake.messages``: (channel, ts) → text, thread_ts) and answers
  ``chat.delete`` like Slack (https://api.slack.com/methods/chat.delete): the message goes, a ts it
  does not hold is ``message_not_found``; refusals (``cant_delete_message`` for a message the bot may no
  longer delete, ``missing_scope``) are scripted with ``fail_next``;
* fails on request: ``fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)``;
* opt-in, enforces Slack's per-channel posting limit like Slack does: ``fake.limit_rate(per_second=1,
  burst=3)`` answers ``chat.postMessage`` beyond it with HTTP 429, ``{"ok": false, "error":
  "ratelimited"}`` and ``Retry-After`` (https://api.slack.com/docs/rate-limits#rate-limits__responding).

Use the ``slack_api`` fixture (registered by tests/conftest.py)
and ``sign(body, secret)`` for request signatures.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.fakes.background_server import BackgroundServer

JSON_PARAMS = ("blocks", "attachments", "view", "files", "metadata")


@dataclass
class Call:
    method: str  # Web API method, "response" (a response_url), "upload" or "socket.ack"
    params: dict[str, Any]
    headers: dict[str, str]
    path: str = ""
    error: str | None = None  # the scripted failure this call got, if any
    at: float = field(default_factory=time.monotonic)  # when it arrived (for rate assertions)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Failure:
    error: str
    status: int = 200
    retry_after: int | None = None


@dataclass
class RateLimit:
    """Slack's per-channel limit as a generic cell rate: ``per_second`` with ``burst`` at once."""
    per_second: float
    burst: int
    retry_after: int | None
    tat: dict = field(default_factory=dict)  # channel -> theoretical arrival time

    def refuse(self, channel: str, now: float) -> float | None:
        """None when this post is allowed, else the seconds until one would be."""
        interval = 1.0 / self.per_second
        tat = max(self.tat.get(channel, now), now)
        allowed_at = tat - interval * (self.burst - 1)
        if allowed_at > now + 1e-3:  # a millisecond of slack for clock granularity
            return allowed_at - now
        self.tat[channel] = tat + interval
        return None


@dataclass
class FakeUser:
    id: str
    email: str | None = None
    name: str = ""
    is_bot: bool = False
    tz: str = "UTC"
    extra: dict = field(default_factory=dict)


class FakeSlackApi(BackgroundServer):
    TEAM_ID = "T0FAKE"
    BOT_USER_ID = "UCRMBOT"
    BOT_ID = "BCRMBOT"

    thread_name = "fake-slack-api"

    def __init__(self):
        super().__init__()
        self.calls: list[Call] = []
        self.users: dict[str, FakeUser] = {}
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}  # url_private paths ("/files-pri/T1-F1/x.png") → content
        self._failures: dict[str, deque[Failure]] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._limits: dict[str, RateLimit] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # what chat.postMessage posted, until deleted

    # ---- the server ------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{path:.*}", self._file)
        app.router.add_get("/socket", self._socket)

    async def before_stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # ---- what tests use --------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, rid: str | None = None) -> str:
        return f"{self.base}/response/{rid or 'r' + str(next(self._ids))}"

    def add_user(self, user_id: str, email: str | None = None, name: str = "", *, is_bot: bool = False,
                 tz: str = "UTC") -> FakeUser:
        user = FakeUser(user_id, email, name or user_id.lower(), is_bot, tz)
        self.users[user_id] = user
        return user

    def add_file(self, url_private: str, content: bytes) -> str:
        """Serve ``content`` at the path of ``url_private`` (any host: the bot fetches it from this server)."""
        from urllib.parse import urlsplit

        path = urlsplit(url_private).path
        self.files[path] = content
        return f"{self.base}{path}"

    def fail_next(self, method: str, error: str = "internal_error", status: int = 200,
                  retry_after: int | None = None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail with Slack's ``{"ok": false, "error": …}``."""
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(Failure(error, status, retry_after) for _ in range(times))

    def limit_rate(self, method: str = "chat.postMessage", per_second: float = 1.0, burst: int = 3,
                   retry_after: int | None = None) -> None:
        """From now on, posts of ``method`` beyond ``per_second`` per channel (after a burst of
        ``burst``) get 429 with Retry-After (``retry_after``, or the seconds until the next slot)."""
        self._limits[method] = RateLimit(per_second, burst, retry_after)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0, where=None) -> list[Call]:
        """Block until ``count`` calls of ``method`` (matching ``where``) were recorded; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method and (where is None or where(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"expected {count} call(s) to {method}, got {len(found)}; calls: {seen}")
                self._changed.wait(left)

    def thread_messages(self, channel: str, thread_ts: str) -> dict[str, dict[str, Any]]:
        """What is still in a thread (its root included): ts → message."""
        with self._lock:
            return {ts: m for (ch, ts), m in self.messages.items()
                    if ch == channel and (ts == thread_ts or m.get("thread_ts") == thread_ts)}

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def socket_send(self, envelope: dict) -> None:
        """Push a Socket Mode envelope to every connected client."""

        async def send():
            for ws in list(self._sockets):
                await ws.send_json(envelope)

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)

    def socket_connected(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._sockets:
                return True
            time.sleep(0.02)
        return False

    # ---- the server ------------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            return queue.popleft() if queue else None

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.headers.get("Content-Type", "")
        if request.method == "POST":
            if ctype.startswith("application/json"):
                raw = await request.read()
                if raw:
                    params.update(json.loads(raw))
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in JSON_PARAMS:
            value = params.get(key)
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        failure = self._take_failure(method) or self._over_limit(method, params)
        self._record(Call(method, params, dict(request.headers), request.path, failure.error if failure else None))
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        try:
            body = self._answer(method, params)
        except LookupError as missing:
            body = {"ok": False, "error": str(missing.args[0])}
        return web.json_response(body)

    def _over_limit(self, method: str, params: dict[str, Any]) -> Failure | None:
        limit = self._limits.get(method)
        if limit is None:
            return None
        with self._lock:
            wait = limit.refuse(str(params.get("channel") or ""), time.monotonic())
        if wait is None:
            return None
        seconds = limit.retry_after if limit.retry_after is not None else max(1, int(wait + 0.999))
        return Failure("ratelimited", 429, seconds)

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake Team", "user": "crmbot",
                    "team_id": self.TEAM_ID, "user_id": self.BOT_USER_ID, "bot_id": self.BOT_ID}
        if method == "chat.postMessage":
            channel = p.get("channel") or ""
            if not channel:
                raise LookupError("channel_not_found")
            if channel.startswith("U"):
                channel = "D" + channel[1:]
            ts = self._next_ts()
            with self._lock:
                self.messages[(channel, ts)] = {"text": p.get("text", ""), "blocks": p.get("blocks"),
                                                "thread_ts": p.get("thread_ts")}
            return {"ok": True, "channel": channel, "ts": ts,
                    "message": {"type": "message", "text": p.get("text", ""), "ts": ts, "bot_id": self.BOT_ID,
                                "thread_ts": p.get("thread_ts")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            with self._lock:
                kept = self.messages.get((str(p.get("channel") or ""), str(p.get("ts") or "")))
                if kept is not None:
                    kept.update(text=p.get("text", ""), blocks=p.get("blocks"))
            return {"ok": True, "channel": p.get("channel"), "ts": p.get("ts"), "text": p.get("text", "")}
        if method == "chat.delete":
            key = (str(p.get("channel") or ""), str(p.get("ts") or ""))
            with self._lock:
                if self.messages.pop(key, None) is None:
                    raise LookupError("message_not_found")
            return {"ok": True, "channel": key[0], "ts": key[1]}
        if method == "chat.getPermalink":
            channel, ts = p.get("channel", ""), str(p.get("message_ts", ""))
            return {"ok": True, "channel": channel,
                    "permalink": f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "conversations.open":
            users = str(p.get("users", "")).split(",")[0]
            if not users:
                raise LookupError("users_list_not_supplied")
            return {"ok": True, "channel": {"id": "D" + users.lstrip("U")}}
        if method == "users.info":
            user = self.users.get(str(p.get("user", "")))
            if user is None:
                raise LookupError("user_not_found")
            return {"ok": True, "user": {"id": user.id, "team_id": self.TEAM_ID, "name": user.name,
                                         "real_name": user.name, "is_bot": user.is_bot, "tz": user.tz,
                                         "profile": {"email": user.email, "real_name": user.name,
                                                     "display_name": user.name}}}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = dict(p.get("view") or {})
            view.update({"id": view.get("id") or f"V{next(self._ids):06d}", "hash": f"h{next(self._ids)}",
                         "team_id": self.TEAM_ID})
            return {"ok": True, "view": view}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):06d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = p.get("files") or []
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title"),
                                           "size": len(self.uploads.get(f.get("id"), b""))} for f in files]}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": True}

    async def _response(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        failure = self._take_failure("response")
        self._record(Call("response", params, dict(request.headers), request.path, failure.error if failure else None))
        if failure is not None:
            return web.Response(status=failure.status if failure.status != 200 else 404, text=failure.error)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = data
        self._record(Call("upload", {"file_id": file_id, "size": len(data)}, dict(request.headers), request.path))
        return web.Response(text=f"OK - {len(data)}")

    async def _file(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        self._record(Call("file", {"path": request.path}, dict(request.headers), request.path))
        if not auth.startswith("Bearer xox"):
            # what files.slack.com really does without the token: a sign-in page, not an error status
            return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>",
                                content_type="text/html")
        content = self.files.get(request.path)
        if content is None:
            return web.Response(status=404, text="file not found")
        return web.Response(body=content, content_type="application/octet-stream")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A0FAKE"}, "debug_info": {"host": "fake"}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._record(Call("socket.ack", json.loads(msg.data), {}, "/socket"))
        finally:
            self._sockets.remove(ws)
        return ws


def sign(body: str | bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(secret.encode(), f"v0:{ts}:{raw}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@pytest.fixture(scope="module")
def slack_api_server():
    """One Slack stand-in per test module (a server start per test was most of a test's setup)."""
    fake = FakeSlackApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def slack_api(slack_api_server):
    """The module's Slack stand-in, reset: no calls, users, failures or uploads from earlier tests."""
    slack_api_server.reset()
    return slack_api_server
