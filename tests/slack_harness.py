"""Drives the real `crm-bot run` ASGI app (uvicorn on loopback) the way Slack does.

``slack_bot`` serves ``App(settings, db)`` with the Slack adapter, its Web API base pointed
at the stand-in (``tests/fakes/slack_api.py``), and offers Slack's three request shapes —
signed slash commands, ``payload=`` interactivity and JSON events — plus helpers to press
the buttons and fill the modals that the bot really sent.

Use it where HTTP, Bolt or the Slack wire format is the subject; a command's behaviour is
tested in-process with the ``chat`` fixture (tests/fixtures/chat.py). One uvicorn server
serves a whole test module (``app_host``); each test mounts its own App (fresh store,
adapters started and stopped as by the lifespan).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from bot.app import App
from tests.fakes.slack_api import FakeSlackApi, sign

SECRET = "test-signing-secret"
_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn in a background thread, with lifespan (adapters start and stop)."""

    def __init__(self, asgi, port: int = 0):
        # the listening socket is bound here, not by uvicorn, so port 0 takes a free port without a race
        # against other test processes (pytest-xdist workers) between choosing a port and binding it
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", port))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="crm-bot-http", daemon=True)

    def start(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("crm-bot HTTP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.socket.close()


class AppHost:
    """One uvicorn server for many Apps in turn: ``mount(app)`` starts the App in the server's
    event loop (as its lifespan would) and routes every request to it; ``unmount()`` stops it.
    Requests while nothing is mounted get 503."""

    def __init__(self, port: int | None = None):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.app: App | None = None
        self._asgi = None
        self._server = Server(self, port or 0)
        self.port = self._server.port

    def start(self) -> "AppHost":
        self._server.start()  # runs the lifespan below, which records the loop
        return self

    def stop(self) -> None:
        self.unmount()
        self._server.stop()

    def mount(self, app: App) -> None:
        self.unmount()
        asgi = app.asgi()
        asyncio.run_coroutine_threadsafe(app.start(), self.loop).result(60)
        self.app, self._asgi = app, asgi

    def unmount(self) -> None:
        app, self.app, self._asgi = self.app, None, None
        if app is not None:
            asyncio.run_coroutine_threadsafe(app.stop(), self.loop).result(60)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        asgi = self._asgi
        if asgi is None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no app mounted"})
            return
        await asgi(scope, receive, send)


@dataclass
class Sent:
    status: int
    body: str
    response_url: str | None = None

    def json(self):
        return json.loads(self.body) if self.body else None


class SlackBot:
    def __init__(self, app: App, fake: FakeSlackApi, port: int):
        self.app = app
        self.fake = fake
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.http = httpx.Client(timeout=30)

    # ---- raw requests ----------------------------------------------------------------------
    def post(self, body: str, content_type: str, *, secret: str = SECRET, timestamp: int | None = None,
             headers: dict | None = None) -> httpx.Response:
        all_headers = {"Content-Type": content_type, **sign(body, secret, timestamp), **(headers or {})}
        return self.http.post(self.url, content=body.encode(), headers=all_headers)

    def command(self, text: str, user: str = "UALICE", channel: str = "C0SALES", **kw) -> Sent:
        rid = f"cmd{next(_ids)}"
        form = {"token": "legacy", "team_id": FakeSlackApi.TEAM_ID, "team_domain": "fake", "channel_id": channel,
                "channel_name": "sales", "user_id": user, "user_name": user.lower(), "command": "/crm",
                "text": text, "api_app_id": "A0FAKE", "response_url": self.fake.response_url(rid),
                "trigger_id": f"trig.{next(_ids)}"}
        r = self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)
        return Sent(r.status_code, r.text, form["response_url"])

    def interactive(self, payload: dict, **kw) -> Sent:
        payload.setdefault("team", {"id": FakeSlackApi.TEAM_ID, "domain": "fake"})
        payload.setdefault("api_app_id", "A0FAKE")
        payload.setdefault("token", "legacy")
        r = self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw)
        return Sent(r.status_code, r.text, payload.get("response_url"))

    def event(self, event: dict, event_id: str | None = None, retry_num: int | None = None, **kw) -> Sent:
        body = {"token": "legacy", "team_id": FakeSlackApi.TEAM_ID, "api_app_id": "A0FAKE", "event": event,
                "type": "event_callback", "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": FakeSlackApi.TEAM_ID, "user_id": FakeSlackApi.BOT_USER_ID,
                                    "is_bot": True}]}
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        r = self.post(json.dumps(body), "application/json", headers=headers, **kw)
        return Sent(r.status_code, r.text)

    # ---- what the bot answered -------------------------------------------------------------
    def answer(self, sent: Sent, timeout: float = 15) -> dict:
        """What the bot posted to this request's response_url (respond())."""
        path = "/response/" + sent.response_url.rsplit("/", 1)[1]
        return self.fake.wait_for("response", where=lambda c: c.path == path, timeout=timeout)[0].params

    def ask(self, text: str, user: str = "UALICE", **kw) -> dict:
        sent = self.command(text, user, **kw)
        assert sent.status == 200, sent.body
        return self.answer(sent)

    # ---- pressing what the bot sent --------------------------------------------------------
    def click(self, element: dict, user: str = "UALICE", *, home: bool = False, option: str | None = None) -> Sent:
        """Press a button (or choose an overflow option) exactly as rendered by the bot."""
        action = {"action_id": element["action_id"], "block_id": "b1", "type": element["type"],
                  "action_ts": f"{time.time():.6f}"}
        if element["type"] == "overflow":
            chosen = next(o for o in element["options"] if o["text"]["text"] == option)
            action["selected_option"] = chosen
        else:
            action["value"] = element["value"]
            action["text"] = element["text"]
        payload = {"type": "block_actions", "user": {"id": user, "username": user.lower(),
                                                       "team_id": FakeSlackApi.TEAM_ID},
                   "trigger_id": f"trig.{next(_ids)}", "actions": [action]}
        if home:
            payload["container"] = {"type": "view", "view_id": "VHOME"}
            payload["view"] = {"id": "VHOME", "type": "home", "team_id": FakeSlackApi.TEAM_ID}
        else:
            payload["container"] = {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0SALES",
                                    "is_ephemeral": True}
            payload["channel"] = {"id": "C0SALES", "name": "sales"}
            payload["response_url"] = self.fake.response_url(f"act{next(_ids)}")
        return self.interactive(payload)

    def submit(self, view: dict, values: dict, user: str = "UALICE") -> Sent:
        """Submit a modal the bot opened, with ``values`` by block id (text, option value, date, time)."""
        state = {}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"], element.get("initial_value"))
            entry = {"type": element["type"]}
            if element["type"] in ("static_select", "external_select"):
                if value is None and element.get("initial_option"):
                    value = element["initial_option"]["value"]
                entry["selected_option"] = {"value": value, "text": {"type": "plain_text", "text": str(value)}} \
                    if value is not None else None
            elif element["type"] == "datepicker":
                entry["selected_date"] = value
            elif element["type"] == "timepicker":
                entry["selected_time"] = value
            else:
                entry["value"] = value
            state[block["block_id"]] = {element["action_id"]: entry}
        submitted = dict(view, id=view.get("id", "V1"), state={"values": state})
        payload = {"type": "view_submission", "user": {"id": user, "team_id": FakeSlackApi.TEAM_ID},
                   "trigger_id": f"trig.{next(_ids)}", "view": submitted}
        return self.interactive(payload)

    def opened_view(self, count: int = 1) -> dict:
        return self.fake.wait_for("views.open", count)[count - 1].params["view"]

    def close(self) -> None:
        self.http.close()


def buttons(blocks: list[dict]) -> dict[str, dict]:
    """Every button and overflow menu in a message, by its label ("⋯ Done" for menu options)."""
    found: dict[str, dict] = {}
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory")]
        for element in elements:
            if not element:
                continue
            if element["type"] == "button":
                found.setdefault(element["text"]["text"], element)
            elif element["type"] == "overflow":
                for option in element["options"]:
                    found.setdefault("⋯ " + option["text"]["text"], element)
    return found


def rich_text(message: dict) -> str:
    """The literal text of a message's rich_text blocks (a customer's words: Slack does not parse them)."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("text", "link") and isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk([b for b in message.get("blocks") or [] if b.get("type") == "rich_text"])
    return "".join(out)


def all_text(message: dict) -> str:
    """Every piece of text in a posted message or view, for "is this mentioned" assertions."""
    out = [message.get("text") or ""]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                out.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks") or [])
    return "\n".join(out)


@pytest.fixture(scope="module")
def app_host():
    """The module's HTTP server for `crm-bot run` apps (tests mount their own App on it)."""
    host = AppHost().start()
    yield host
    host.stop()


@pytest.fixture
def slack_bot(db, settings, clock, slack_api, team, app_host):
    settings = settings.model_copy(update={"slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET,
                                           "slack_api_url": slack_api.api_url})
    app = App(settings, db, clock=clock)
    app.configure_adapters()
    app_host.mount(app)
    bot = SlackBot(app, slack_api, app_host.port)
    yield bot
    bot.close()
    app_host.unmount()
