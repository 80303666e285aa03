"""The Slack adapter: `/crm`, buttons, modals, the "Log to CRM" shortcut and the App Home, on slack-bolt.

Bolt's async app serves ``POST /slack/events`` inside the ASGI server of `crm-bot run`
(or connects over Socket Mode when ``SLACK_APP_TOKEN`` is set). Bolt checks signatures and
timestamps (401 otherwise). Every listener acks at once and does its work in a Bolt lazy
listener afterwards, except modal submissions and menu searches, which must answer in the
ack itself (validation errors, options). Everything the user asked
for runs through ``Engine.handle`` as that user, so the roles and the validation live in
one place; the adapter only translates between Slack and the engine.

The adapter is one object (``SlackAdapter``) whose methods live by job in this package, as
mixins sharing its state (client, identity, journal writers): ``listeners/`` (commands, actions,
views, shortcuts, events, home), ``answering.py``, ``uploads.py``; the pure parts stand alone
(``wire.py``, ``identity.py``, ``forms.py``, ``blocks.py``, ``team_inbox.py``). This module only
wires them: the Bolt app, its middleware and routes, start and stop.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.metrics import metrics_of
from crm.events import claim_event
from integrations.journal_writer import JournalWriter
from integrations.slack import blocks as kit
from integrations.slack.answering import Answering
from integrations.slack.identity import SlackIdentity
from integrations.slack.listeners.actions import ActionListeners
from integrations.slack.listeners.commands import AckFirst, CommandListeners
from integrations.slack.listeners.events import SlackEvents
from integrations.slack.listeners.home import HomeListeners
from integrations.slack.listeners.shortcuts import ShortcutListeners
from integrations.slack.listeners.views import ViewListeners
from integrations.slack.team_inbox import SlackTeamInbox
from integrations.slack.uploads import Uploads
from integrations.slack.wire import dedup_key, malformed_body, shape_problem
from integrations.slack.workspace import REFUSAL, is_foreign

log = logging.getLogger("crm.slack")
STOP_GRACE_SECONDS = 5.0  # on stop, how long answers already queued may still go out


async def _ack(ack) -> None:
    await ack()


class _Gate(AsyncMiddleware):
    """Our global middleware as one Bolt middleware object: a function middleware has its arguments
    injected on every request (Bolt inspects its signature each time), an object is called as is."""

    def __init__(self, adapter: "SlackAdapter"):
        self.adapter = adapter

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next) -> BoltResponse | None:
        refused = await self.adapter._same_workspace(req.context, req.body) or await self.adapter._once(req.body)
        if refused is not None:
            return refused
        return await next()


class SlackAdapter(CommandListeners, ActionListeners, ViewListeners, ShortcutListeners, HomeListeners,
                   Answering, Uploads):
    name = "slack"

    def __init__(self, app):
        self.app = app
        settings = app.settings
        self.client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url,
            retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                            AsyncServerErrorRetryHandler(max_retry_count=1)])
        self.socket_mode = bool(settings.slack_app_token)
        self.bolt = AsyncApp(client=self.client, signing_secret=settings.slack_signing_secret or "",
                             request_verification_enabled=not self.socket_mode,
                             # listeners ack inline and hand slow work to lazy listeners, so the HTTP
                             # answer leaves as soon as ack() is called (no polling for the ack)
                             process_before_response=True, raise_error_for_unhandled_request=False)
        self.identity = SlackIdentity(app.db, self.client, settings)
        # journal rows of many commands share transactions: acks and "answered" marks, one INSERT each batch
        self.journal = JournalWriter(app.db, metrics=metrics_of(app))
        self.ack_first = AckFirst()  # answers at a bounded share of the time while acks are waiting
        self._in_hand: set[int] = set()  # journal rows of commands this instance is still answering
        self._answer_pools = weakref.WeakKeyDictionary()  # event loop -> its bounded pool of answer workers
        self._loop: asyncio.AbstractEventLoop | None = None  # the app's, from start() on
        self._webhook = None  # one keep-alive HTTP session for response_url posts on that loop
        self._recovery: asyncio.Task | None = None
        self._renewal: asyncio.Task | None = None
        self.events = SlackEvents(self)
        self._register()
        self.socket_handler = None
        if self.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self.socket_handler = AsyncSocketModeHandler(self.bolt, settings.slack_app_token)
            self.routes: list[Route] = []
        else:
            self.verifier = SignatureVerifier(settings.slack_signing_secret or "")
            self.routes = [Route("/slack/events", self._http, methods=["POST"])]
        app.delivery.register("slack", self.send_dm)
        app.engine.ports.team_inbox = SlackTeamInbox(self)

    async def _http(self, request: Request):
        """Bolt's request handling, with the body parsed once: the request Bolt builds (its parse) is
        checked for shapes Bolt would crash on (a 400, not a 500), then dispatched (signature checks,
        middleware, listeners), as Bolt's own Starlette adapter does."""
        with self.ack_first.acking():  # answers yield to acks while requests arrive
            return await self._handle_http(request)

    async def _handle_http(self, request: Request):
        raw = await request.body()
        try:
            bolt_request = AsyncBoltRequest(body=raw.decode("utf-8"), query=request.query_params,
                                            headers=request.headers)
            body = bolt_request.body
            problem = shape_problem(body) if isinstance(body, dict) else "the body is not a JSON object"
        except Exception:  # not UTF-8, not JSON, or a shape Bolt's own parsing trips on: say which
            problem = malformed_body(raw, request.headers.get("content-type")) or "not a request Slack sends"
        if problem is None:
            try:
                return to_starlette_response(await self.bolt.async_dispatch(bolt_request))
            except Exception:
                # listeners run after the ack, so what escapes Bolt is a body of a shape Slack never sends
                log.warning("Slack request Bolt could not handle; answered 400", exc_info=True)
                problem = "not a request Slack sends"
        # unsigned junk is 401 like any unsigned request
        if not self.verifier.is_valid_request(raw, dict(request.headers)):
            return PlainTextResponse("invalid request signature", status_code=401)
        return PlainTextResponse(f"malformed request: {problem}", status_code=400)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._recovery = asyncio.create_task(self._recover_forever(), name="slack-command-recovery")
        self._renewal = asyncio.create_task(self._renew_forever(), name="slack-command-leases")
        if self.socket_handler is not None:
            await self.socket_handler.connect_async()
            log.info("Slack connected over Socket Mode")

    async def stop(self) -> None:
        for task in (self._recovery, self._renewal):
            if task is not None:
                task.cancel()
        self._recovery = self._renewal = None
        pool = self._answer_pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:  # answers in hand get a moment; what is left is in the journal for recovery
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(pool.queue.join(), STOP_GRACE_SECONDS)
            for worker in pool.workers:
                worker.cancel()
        if self._webhook is not None:
            await self._webhook.close()
            self._webhook = None
        if self.socket_handler is not None:
            await self.socket_handler.close_async()

    # ---- wiring ---------------------------------------------------------------------------
    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(_Gate(self))  # the workspace, then redeliveries
        bolt.command("/crm")(self._ack_command)
        bolt.action(re.compile(rf"^{kit.RUN}:"))(ack=_ack, lazy=[self._on_run_button])
        bolt.action(re.compile(rf"^{kit.FORM}:"))(ack=_ack, lazy=[self._on_form_button])
        bolt.action(re.compile(rf"^{kit.MENU}:"))(ack=_ack, lazy=[self._on_menu])
        bolt.shortcut("log_to_crm")(ack=_ack, lazy=[self._on_shortcut])
        bolt.event("app_home_opened")(ack=_ack, lazy=[self._on_home_opened])
        self.events.register(bolt, _ack)  # messages (threads, DMs), app_mention, member_joined_channel
        # these answer in the ack itself: validation errors and search results
        bolt.view(re.compile(r"^crm_form_(log|remind|snooze)$"))(self._on_form_submit)
        bolt.view("crm_form_shortcut")(self._on_shortcut_submit)
        bolt.options("customer_search")(self._on_customer_options)
        self.events.register_fallback(bolt, _ack)  # any other event: 200, not Bolt's 404
        bolt.error(self._on_error)

    async def _same_workspace(self, context, body: dict) -> BoltResponse | None:
        """Signed, but from a workspace this app is not installed in: a polite no (workspace.py)."""
        installed = context.authorize_result
        if installed is not None and is_foreign(installed.team_id, installed.enterprise_id,
                                                context.team_id, context.enterprise_id):
            log.warning("refused a Slack request from workspace %s (org %s)", context.team_id, context.enterprise_id)
            return BoltResponse(status=200, body=REFUSAL if body.get("command") else "")
        return None

    async def _once(self, body: dict) -> BoltResponse | None:
        """Slack retries (X-Slack-Retry-Num) and redeliveries act once, across restarts and instances."""
        key = dedup_key(body)
        if key is not None and not await asyncio.to_thread(claim_event, self.app.db, "slack", key):
            log.info("ignoring a repeated Slack delivery %s", key)
            return BoltResponse(status=200, body="")
        return None

    async def _on_error(self, error, body, logger) -> None:
        log.error("Slack listener error on %s", (body or {}).get("type"), exc_info=error)
