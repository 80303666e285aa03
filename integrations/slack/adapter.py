"""The Slack adapter: `/crm`, buttons, modals, the "Log to CRM" shortcut and the App Home, on slack-bolt.

Bolt's async app serves ``POST /slack/events`` inside the ASGI server of `crm-bot run`
(or connects over Socket Mode when ``SLACK_APP_TOKEN`` is set). Bolt checks signatures and
timestamps (401 otherwise). Every listener acks at once and does its work in a Bolt lazy
listener afterwards, except modal submissions and menu searches, which must answer in the
ack itself (validation errors, options). Everything the user asked
for runs through ``Engine.handle`` as that user, so the roles and the validation live in
one place; this module only translates between Slack and the engine.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.cards import customer_label
from bot.delivery import DeliveryError
from bot.engine import UNKNOWN_USER
from bot.identity import find_staff, link_by_email
from bot.metrics import metrics_of
from bot.messages import IncomingMessage
from bot.replies import Button, Reply
from crm import command_journal as journal
from crm import file_retention
from crm.events import claim_event
from crm.models import Customer, Staff, Task
from crm.search import search_customers
from integrations.slack import blocks as kit
from integrations.group_commit import GroupCommit
from integrations.slack.listeners.events import SlackEvents
from integrations.slack.home import build_home
from integrations.slack.workspace import REFUSAL, is_foreign

log = logging.getLogger("crm.slack")

APOLOGY = ("Sorry, something went wrong on my side and nothing more was done. "
           "Please try again; if it keeps happening, tell an admin (ref {ref}).")
TOO_SLOW = "That took too long — click again, please."
EMAIL_CACHE_SECONDS = 60
RECOVERY_SECONDS = 15.0  # how often acknowledged commands a crashed instance left unanswered are looked for


# ---- Slack's escaping in slash-command and message text ---------------------------------------

_ANGLE = re.compile(r"<([^<>]*)>")


def _unangle(match: re.Match) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return target  # <@U123|alice> → @U123: the engine resolves Slack ids
    if target.startswith("#"):
        return "#" + label if label else target
    if target.startswith("!"):
        if target.startswith("!subteam^"):
            return label or "@team"
        return "@" + (label or target[1:]).lstrip("@")
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    return label or target  # <http://x|label>: what the user typed


def unescape(text: str) -> str:
    """Slack's wire format back to what the user typed: links, mentions and &amp; &lt; &gt;."""
    text = _ANGLE.sub(_unangle, text or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# ---- who is clicking -------------------------------------------------------------------------

@dataclass(frozen=True)
class StaffView:
    """What the adapter needs of a staff member, read inside a session."""

    id: int
    name: str
    timezone: str
    language: str

    @classmethod
    def of(cls, staff: Staff | None) -> "StaffView | None":
        if staff is None:
            return None
        return cls(staff.id, staff.name, staff.timezone or "UTC", staff.language or "en")

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except Exception:
            return ZoneInfo("UTC")


class SlackIdentity:
    """A Slack user is the staff member with that Slack id, or the one with their email (linked once)."""

    def __init__(self, db, client: AsyncWebClient):
        self.db = db
        self.client = client
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._known: dict[str, float] = {}  # Slack ids found to be staff, until when that is trusted

    async def resolve(self, user_id: str) -> tuple[StaffView | None, str | None]:
        """(staff or None, the email from users.info when the id was unknown)."""
        staff = await asyncio.to_thread(self._find, user_id)
        if staff is not None:
            return staff, None
        email = await self.email_of(user_id)
        if email is None:
            return None, None
        return await asyncio.to_thread(self._link, user_id, email), email

    async def email_of(self, user_id: str) -> str | None:
        """users.info only for unknown ids; the answer (even "no email") is remembered briefly."""
        cached = self._emails.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        email = None
        try:
            info = await self.client.users_info(user=user_id)
            user = info.get("user") or {}
            if not user.get("is_bot") and not user.get("deleted"):
                email = (user.get("profile") or {}).get("email") or None
        except SlackApiError as err:
            log.info("users.info %s failed: %s", user_id, err.response.get("error"))
        self._emails[user_id] = (time.monotonic() + EMAIL_CACHE_SECONDS, email)
        return email

    async def email_if_unknown(self, user_id: str) -> str | None:
        """The email to link an unknown Slack id by (the engine looks the staff member up itself, so a
        known id needs nothing here: known ids are remembered for a minute instead of read again)."""
        if self._known.get(user_id, 0) > time.monotonic():
            return None
        staff, email = await self.resolve(user_id)
        if staff is not None:
            self._known[user_id] = time.monotonic() + EMAIL_CACHE_SECONDS
        return email

    def _find(self, user_id: str) -> StaffView | None:
        with self.db.session() as session:
            return StaffView.of(find_staff(session, "slack", user_id))

    def _link(self, user_id: str, email: str) -> StaffView | None:
        with self.db.session() as session:
            return StaffView.of(find_staff(session, "slack", user_id)
                                or link_by_email(session, "slack", user_id, email))


# ---- where an answer goes ----------------------------------------------------------------------

@dataclass
class Origin:
    """Where a request came from, so the answer (and any apology) can go back there."""

    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    home: bool = False

    def metadata(self, **extra) -> dict:
        data = {"u": self.response_url, "c": self.channel_id, "h": self.home}
        data.update(extra)
        return data

    @classmethod
    def from_metadata(cls, user_id: str, data: dict) -> "Origin":
        return cls(user_id, data.get("c"), data.get("u"), bool(data.get("h")))


async def _ack(ack) -> None:
    await ack()


def malformed_body(raw: bytes, content_type: str | None) -> str | None:
    """Why Bolt could not parse this body (it expects an object: JSON, or a form, maybe with a JSON
    ``payload``), or None when it can."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return None
    if content_type == "application/json" or text.startswith("{"):
        document, what = text, "the JSON body"
    elif "payload" in text:
        document, what = dict(parse_qsl(text, keep_blank_values=True)).get("payload"), "the payload"
        if document is None:
            return None
    else:
        return None
    try:
        parsed = json.loads(document)
    except ValueError:
        return f"{what} is not valid JSON"
    return shape_problem(parsed) if isinstance(parsed, dict) else f"{what} is not a JSON object"


_OBJECT_FIELDS = ("view", "container", "message", "channel", "event", "state")
_NAME_FIELDS = ("type", "trigger_id", "callback_id", "action_id", "block_id", "response_url", "api_app_id",
                "team_id", "user_id", "channel_id", "command", "event_id", "id", "value")


def shape_problem(body: dict, depth: int = 0) -> str | None:
    """Fields Bolt dereferences while routing, checked to have the types Slack gives them; Bolt
    itself crashes (a 500) on e.g. ``"actions": null`` or a numeric ``callback_id``."""
    for key in _NAME_FIELDS:
        if key in body and not isinstance(body[key], str):
            return f"“{key}” is not a string"
    if depth > 0:  # inside an event "channel" and "user" are ids: only names and the view state are checked
        return None if isinstance(body.get("state", {}), dict) else "“state” is not an object"
    for key in ("user", "team", "enterprise"):
        if key in body and not isinstance(body[key], (dict, str)):
            return f"“{key}” is not an object"
    for key in _OBJECT_FIELDS:
        if key in body and not isinstance(body[key], dict):
            return f"“{key}” is not an object"
    if "actions" in body and not (isinstance(body["actions"], list) and body["actions"]
                                  and all(isinstance(a, dict) for a in body["actions"])):
        return "“actions” is not a list of objects"
    nested = [body.get(k) for k in ("user", "team", "enterprise") if isinstance(body.get(k), dict)]
    nested += [body[k] for k in _OBJECT_FIELDS if k in body] + list(body.get("actions") or [])
    for inner in nested:
        problem = shape_problem(inner, depth + 1)
        if problem:
            return problem
    return None


def dedup_key(body: dict) -> str | None:
    """The id under which a delivery is claimed once; None for requests that are safe to repeat."""
    kind = body.get("type")
    if kind == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if kind in ("block_actions", "view_submission", "message_action", "shortcut") and body.get("trigger_id"):
        return f"{kind}:{body['trigger_id']}"
    return None


class SlackAdapter:
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
        self.identity = SlackIdentity(app.db, self.client)
        # journal rows of many commands share transactions: acks (urgent) and "answered" marks (not)
        self.journal_writes = GroupCommit(app.db, metrics=metrics_of(app))
        self.answered_marks = GroupCommit(app.db, urgent=False)
        self._in_hand: set[int] = set()  # journal rows of commands this instance is still answering
        self._answering: set[asyncio.Task] = set()
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
            self.http_handler = AsyncSlackRequestHandler(self.bolt)
            self.verifier = SignatureVerifier(settings.slack_signing_secret or "")
            self.routes = [Route("/slack/events", self._http, methods=["POST"])]
        app.delivery.register("slack", self.send_dm)
        app.engine.ports.team_inbox = SlackTeamInbox(self)

    async def _http(self, request: Request):
        raw = await request.body()  # starlette keeps it for Bolt's own read
        problem = malformed_body(raw, request.headers.get("content-type"))
        if problem is None:
            try:
                return await self.http_handler.handle(request)
            except Exception:
                # listeners run after the ack, so what escapes Bolt is a body of a shape Slack never sends
                # (e.g. "actions": null): a 400, not a 500
                log.warning("Slack request Bolt could not handle; answered 400", exc_info=True)
                problem = "not a request Slack sends"
        # unsigned junk is 401 like any unsigned request
        if not self.verifier.is_valid_request(raw, dict(request.headers)):
            return PlainTextResponse("invalid request signature", status_code=401)
        return PlainTextResponse(f"malformed request: {problem}", status_code=400)

    async def start(self) -> None:
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
        if self.socket_handler is not None:
            await self.socket_handler.close_async()

    # ---- wiring ---------------------------------------------------------------------------
    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(self._same_workspace)
        bolt.middleware(self._once)
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

    async def _same_workspace(self, context, body: dict, next) -> BoltResponse | None:
        """Signed, but from a workspace this app is not installed in: a polite no (slack_workspace.py)."""
        installed = context.authorize_result
        if installed is not None and is_foreign(installed.team_id, installed.enterprise_id,
                                                context.team_id, context.enterprise_id):
            log.warning("refused a Slack request from workspace %s (org %s)", context.team_id, context.enterprise_id)
            return BoltResponse(status=200, body=REFUSAL if body.get("command") else "")
        await next()
        return None

    async def _once(self, body: dict, next, logger) -> BoltResponse | None:
        """Slack retries (X-Slack-Retry-Num) and redeliveries act once, across restarts and instances."""
        key = dedup_key(body)
        if key is not None and not await asyncio.to_thread(claim_event, self.app.db, "slack", key):
            log.info("ignoring a repeated Slack delivery %s", key)
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def _on_error(self, error, body, logger) -> None:
        log.error("Slack listener error on %s", (body or {}).get("type"), exc_info=error)

    async def _guarded(self, origin: Origin, work) -> bool:
        """Runs after the ack: any failure is logged with a reference and the user gets a short apology.
        True when the user got an answer (the work's or the apology)."""
        try:
            await work()
            return True
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("Slack handler failed (ref %s) user=%s", ref, origin.user_id)
            try:
                await self._answer(origin, Reply.fail(APOLOGY.format(ref=ref)))
                return True
            except Exception:
                log.exception("could not send the apology (ref %s)", ref)
                return False

    # ---- running commands -----------------------------------------------------------------
    async def run(self, user_id: str, text: str, *, channel_id: str | None = None, message_id: str | None = None,
                  user_name: str | None = None, once: bool = False) -> Reply:
        """One `/crm` line through the engine, as this Slack user (``once``: claimed with its work)."""
        email = await self.identity.email_if_unknown(user_id)
        message = IncomingMessage(platform="slack", user_id=user_id, text=text, chat_id=channel_id,
                                  message_id=message_id, user_name=user_name, user_email=email,
                                  extra={"once": once})
        return await self.app.in_background(self.app.engine.handle, message)

    async def _ack_command(self, ack, body: dict) -> None:
        """The command is journaled before the ack, so an acknowledged command survives a crash of
        this instance (the recovery pass answers it); then it runs and is answered after the ack,
        at the response_url. A retried delivery is already journaled and runs nothing."""
        trigger = str(body.get("trigger_id") or f"none.{uuid.uuid4().hex}")
        user_id, text = str(body.get("user_id") or ""), unescape(str(body.get("text") or ""))
        try:
            command_id = await self.journal_writes.run(  # shared with the other acks of the moment
                journal.accept_in, "slack", f"cmd:{trigger}", user_id=user_id, text=text,
                instance=self.app.instance, user_name=body.get("user_name"), channel_id=body.get("channel_id"),
                reply_to=body.get("response_url"))
            if command_id is None:
                log.info("ignoring a repeated slash command %s", trigger)
                await ack()
                return
        except Exception:  # the store is down: still answer (with the engine's apology) rather than time out
            log.exception("could not journal a slash command; running it unjournaled")
            command_id = None
        origin = Origin(user_id, body.get("channel_id"), body.get("response_url"))
        self._answer_later(command_id, origin, lambda: self.run(
            user_id, text, channel_id=body.get("channel_id"), message_id=f"cmd:{trigger}",
            user_name=body.get("user_name"), once=True))
        await ack()

    def _answer_later(self, command_id: int | None, origin: Origin, make_reply, *,
                      last_try: bool = False) -> asyncio.Task:
        """Runs ``make_reply()`` after the ack, answers with it and marks the journal row answered
        (``last_try``: even when the answer could not be sent). Our own task rather than a Bolt
        lazy listener: no copy of the request, and the row is known to be in hand (its lease
        renewed) exactly as long as the task runs."""
        if command_id is not None:
            self._in_hand.add(command_id)

        async def answer():
            try:
                async def work():
                    await self._answer(origin, await make_reply())

                if (await self._guarded(origin, work) or last_try) and command_id is not None:
                    await self.answered_marks.run(journal.answered_in, command_id)
            except Exception:  # the answer is out; the store is not answering
                log.exception("could not mark slash command %s answered; it may be answered again", command_id)
            finally:
                self._in_hand.discard(command_id)

        task = asyncio.create_task(answer())
        self._answering.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._answering.discard)
        return task

    async def _recover_forever(self) -> None:
        while True:
            try:
                await self.recover_commands()
            except Exception:
                log.exception("Slack command recovery failed; trying again shortly")
            await asyncio.sleep(RECOVERY_SECONDS)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(journal.LEASE.total_seconds() / 3)
            try:
                if self._in_hand:
                    await self.app.in_background(journal.renew, self.app.db, sorted(self._in_hand))
            except Exception:
                log.exception("could not renew the leases of commands in hand; trying again shortly")

    async def recover_commands(self) -> int:
        """Answers acknowledged commands whose instance died before answering; returns how many.
        Running one again is safe: the engine's claim turns work that had committed into a no-op."""
        db = self.app.db
        abandoned = await self.app.in_background(journal.claim_abandoned, db, "slack", self.app.instance)
        answering = []
        for command in abandoned:
            log.warning("answering slash command %s left unanswered by a stopped instance",
                        command.delivery_id.removeprefix("cmd:"))
            answering.append(self._answer_later(
                command.id, Origin(command.user_id, command.channel_id, command.reply_to),
                lambda command=command: self._rerun(command), last_try=command.attempts > journal.GIVE_UP_AFTER))
        await asyncio.gather(*answering)
        await self.app.in_background(journal.purge_answered, db)
        return len(abandoned)

    async def _rerun(self, command: journal.Accepted) -> Reply:
        if command.attempts > journal.GIVE_UP_AFTER:
            return Reply.fail(f"Sorry, I could not finish `/crm {command.text[:200]}`. "
                              "Please check whether it was done and try again.")
        return await self.run(command.user_id, command.text, channel_id=command.channel_id,
                              message_id=command.delivery_id, user_name=command.user_name, once=True)

    # ---- answering --------------------------------------------------------------------------
    async def _answer(self, origin: Origin, reply: Reply) -> None:
        """Back where the request came from: the response_url (ephemeral unless public), else a DM;
        from the App Home, the Home is refreshed with the answer on top."""
        if origin.home:
            await self.publish_home(origin.user_id, notice=("⚠️ " if reply.error else "") + reply.text)
            if reply.file_path or reply.image_path:
                await self._upload_files(await self._dm_channel(origin.user_id), reply)
            return
        reply_text = reply
        if reply.file_path or reply.image_path:
            target = origin.channel_id if reply.public and origin.channel_id else None
            where = await self._upload_files(target or await self._dm_channel(origin.user_id), reply,
                                             fallback_user=origin.user_id if target else None)
            if where and where != origin.channel_id:
                reply_text = _with_note(reply, "📎 The file is in your direct messages with me.")
        # a reply past Slack's 50 blocks arrives as several messages, in order
        for text, blocks in kit.render_messages(reply_text):
            if origin.response_url:
                webhook = AsyncWebhookClient(origin.response_url)
                response = await webhook.send(text=text, blocks=blocks, replace_original=False,
                                              response_type="in_channel" if reply.public and not reply.error
                                              else "ephemeral")
                if response.status_code == 200:
                    continue
                log.warning("response_url answered %s; sending the reply as a DM", response.status_code)
            await self.client.chat_postMessage(channel=await self._dm_channel(origin.user_id), text=text,
                                               blocks=blocks)

    async def _dm_channel(self, user_id: str) -> str:
        opened = await self.client.conversations_open(users=user_id)
        return opened["channel"]["id"]

    async def _upload_files(self, channel: str, reply: Reply, fallback_user: str | None = None) -> str | None:
        """Uploads the reply's image and file; returns the channel they went to."""
        for path in (reply.image_path, reply.file_path):
            if not path:
                continue
            if not Path(path).is_file():
                log.warning("reply names a file that does not exist: %s", path)
                continue
            try:
                await self.client.files_upload_v2(channel=channel, file=path, filename=Path(path).name,
                                                  title=Path(path).name)
            except SlackApiError as err:
                if fallback_user is None:
                    raise
                log.info("upload to %s failed (%s); sending it as a DM", channel, err.response.get("error"))
                channel, fallback_user = await self._dm_channel(fallback_user), None
                await self.client.files_upload_v2(channel=channel, file=path, filename=Path(path).name,
                                                  title=Path(path).name)
            file_retention.delivered(path)  # a privacy export is for this one delivery
        return channel

    async def send_dm(self, staff: Staff, reply: Reply) -> None:
        """The Delivery sender: digests, reminders and notices reach a staff member's DM."""
        if not staff.slack_user_id:
            raise DeliveryError(f"{staff.name} has no Slack id")
        channel = await self._dm_channel(staff.slack_user_id)
        text, blocks = kit.render(reply)
        await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        if reply.file_path or reply.image_path:
            await self._upload_files(channel, reply)

    # ---- buttons --------------------------------------------------------------------------
    @staticmethod
    def _origin(body: dict) -> Origin:
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        home = (body.get("view") or {}).get("type") == "home"
        return Origin(body["user"]["id"], channel, body.get("response_url"), home)

    async def _on_run_button(self, body: dict, action: dict) -> None:
        await self._press(body, Button(label="", command=action.get("value", "")))

    async def _on_form_button(self, body: dict, action: dict) -> None:
        form = action["action_id"].split(":")[1]
        await self._press(body, Button(label="", command=action.get("value", ""), form=form))

    async def _on_menu(self, body: dict, action: dict) -> None:
        form, command = kit.parse_menu_value((action.get("selected_option") or {}).get("value", ""))
        await self._press(body, Button(label="", command=command, form=form))

    async def _press(self, body: dict, button: Button) -> None:
        origin = self._origin(body)

        async def work():
            if button.form:
                await self.open_form(body["trigger_id"], origin, button)
                return
            reply = await self.run(origin.user_id, button.command, channel_id=origin.channel_id,
                                   message_id=f"act:{body.get('trigger_id')}")
            await self._answer(origin, reply)

        await self._guarded(origin, work)

    # ---- modals ---------------------------------------------------------------------------
    async def open_form(self, trigger_id: str, origin: Origin, button: Button) -> None:
        staff, _ = await self.identity.resolve(origin.user_id)
        if staff is None:
            await self._answer(origin, Reply.fail(UNKNOWN_USER))
            return
        lang = staff.language
        subject = await asyncio.to_thread(self._subject_label, button.command)
        meta = origin.metadata(cmd=button.command)
        if button.form == "log":
            view = kit.log_modal(subject, meta, lang)
        elif button.form == "remind":
            view = kit.remind_modal(subject, meta, lang)
        elif button.form == "snooze":
            view = kit.snooze_modal(subject, meta, lang)
        else:
            await self._answer(origin, await self.run(origin.user_id, button.command))
            return
        await self._open_view(trigger_id, view, origin)

    async def _open_view(self, trigger_id: str, view: dict, origin: Origin) -> None:
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as err:
            if err.response.get("error") != "expired_trigger_id":
                raise
            await self._tell(origin, TOO_SLOW)

    async def _tell(self, origin: Origin, text: str) -> None:
        """A short ephemeral note: via response_url, else chat.postEphemeral, else a DM."""
        if origin.response_url:
            await self._answer(Origin(origin.user_id, origin.channel_id, origin.response_url), Reply(text=text))
        elif origin.channel_id and not origin.home:
            await self.client.chat_postEphemeral(channel=origin.channel_id, user=origin.user_id, text=text)
        else:
            await self.client.chat_postMessage(channel=await self._dm_channel(origin.user_id), text=text)

    def _subject_label(self, command: str) -> str:
        """What a form is about, for its header: the customer (with owner) or the task."""
        words = command.split()
        ref = next((w for w in words[1:] if w.startswith("#") and w[1:].isdigit()), None)
        if ref is None:
            return command
        with self.app.db.session() as session:
            if words[0] == "snooze":
                task = session.get(Task, int(ref[1:]))
                return f"#{task.id} {task.title}" if task else command
            customer = session.get(Customer, int(ref[1:]))
            return customer_label(session, customer) if customer else command

    async def _on_form_submit(self, ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        meta = _metadata(view)
        origin = Origin.from_metadata(user_id, meta)
        try:
            form = view["callback_id"].removeprefix("crm_form_")
            staff, _ = await self.identity.resolve(user_id)
            now_stamp = kit.local_stamp(self.app.engine.clock().astimezone(staff.zone)) if staff else ""
            line, errors = form_command(form, meta.get("cmd", ""), view, now_stamp)
            if errors:
                await ack(response_action="errors", errors=errors)
                return
            reply = await self.run(user_id, line, channel_id=origin.channel_id, message_id=f"view:{view['id']}")
            if reply.error:
                await ack(response_action="errors", errors={error_block(form, reply.text): _short(reply.text)})
                return
            await ack()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("modal submission failed (ref %s)", ref)
            await ack(response_action="errors", errors={_last_input(view): APOLOGY.format(ref=ref)[:150]})
            return
        await self._guarded(origin, lambda: self._answer(origin, reply))

    # ---- the "Log to CRM" message shortcut ------------------------------------------------
    async def _on_shortcut(self, body: dict) -> None:
        message = body.get("message") or {}
        origin = Origin(body["user"]["id"], (body.get("channel") or {}).get("id"), body.get("response_url"))

        async def work():
            staff, _ = await self.identity.resolve(origin.user_id)
            if staff is None:
                await self._answer(origin, Reply.fail(UNKNOWN_USER))
                return
            meta = origin.metadata(ts=message.get("ts"))
            view = kit.shortcut_modal(unescape(message.get("text", "")), meta, staff.language)
            await self._open_view(body["trigger_id"], view, origin)

        await self._guarded(origin, work)

    async def _on_customer_options(self, ack, body: dict) -> None:
        """external_select search; unknown users get no options at all."""
        try:
            staff, _ = await self.identity.resolve(body["user"]["id"])
            if staff is None:
                await ack(options=[])
                return
            matches = await asyncio.to_thread(self._search, body.get("value", ""))
            await ack(options=kit.customer_options(matches))
        except Exception:
            log.exception("customer options failed")
            await ack(options=[])

    def _search(self, query: str) -> list[tuple[int, str]]:
        with self.app.db.session() as session:
            return [(c.id, customer_label(session, c)) for c, _ in search_customers(session, query, limit=20)]

    async def _on_shortcut_submit(self, ack, body: dict, view: dict) -> None:
        user_id = body["user"]["id"]
        meta = _metadata(view)
        origin = Origin.from_metadata(user_id, meta)
        try:
            customer = kit.state_value(view, "customer")
            kind = kit.state_value(view, "kind") or "chat"
            summary = kit.state_value(view, "summary") or ""
            if not customer:
                await ack(response_action="errors", errors={"customer": "Pick a customer."})
                return
            channel, ts = origin.channel_id, meta.get("ts")
            if not summary and not (channel and ts):
                await ack(response_action="errors", errors={"summary": "Write a few words."})
                return
            permalink = ""
            if channel and ts:
                try:
                    permalink = (await self.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
                except SlackApiError as err:
                    log.info("no permalink for %s:%s (%s)", channel, ts, err.response.get("error"))
            staff, _ = await self.identity.resolve(user_id)
            when = _message_time(ts, staff.zone if staff else ZoneInfo("UTC"))
            text = summary + (f"\n{permalink}" if permalink else "")
            line = f"log {customer} {kind} {when} {text}"
            reply = await self.run(user_id, line, channel_id=channel,
                                   message_id=f"{channel}:{ts}" if channel and ts else f"view:{view['id']}")
            if reply.error:
                await ack(response_action="errors", errors={error_block("shortcut", reply.text): _short(reply.text)})
                return
            await ack()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("shortcut submission failed (ref %s)", ref)
            await ack(response_action="errors", errors={"summary": APOLOGY.format(ref=ref)[:150]})
            return
        await self._guarded(origin, lambda: self._answer(origin, reply))

    # ---- App Home -------------------------------------------------------------------------
    async def _on_home_opened(self, event: dict) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        await self._guarded(Origin(user_id, home=True), lambda: self.publish_home(user_id))

    async def publish_home(self, user_id: str, notice: str | None = None) -> None:
        staff, email = await self.identity.resolve(user_id)
        parts = await asyncio.to_thread(build_home, self.app, user_id, email, staff is not None)
        await self.client.views_publish(user_id=user_id, view=kit.home_view(parts, notice))


class SlackTeamInbox:
    """What the customer inbox (Telegram) uses to put conversations in Slack threads."""

    def __init__(self, adapter: SlackAdapter):
        self.adapter = adapter

    async def open_thread(self, channel: str | None, owner_slack_id: str | None, reply: Reply) -> tuple[str, str]:
        if channel is None:
            if not owner_slack_id:
                raise DeliveryError("no inbox channel (SLACK_INBOX_CHANNEL) and the customer has no owner on Slack")
            channel = await self.adapter._dm_channel(owner_slack_id)
        text, blocks = kit.render(reply)
        # customers' words: no link previews fetched from whatever URL they wrote
        posted = await self.adapter.client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                            unfurl_links=False, unfurl_media=False)
        return posted["channel"], posted["ts"]

    async def post(self, channel: str, thread_ts: str, reply: Reply) -> str:
        text, blocks = kit.render(reply)
        posted = await self.adapter.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                            blocks=blocks, unfurl_links=False, unfurl_media=False)
        return posted["ts"]

    async def post_blocks(self, channel: str, thread_ts: str, text: str, blocks: list[dict] | None = None) -> str:
        posted = await self.adapter.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                            blocks=blocks, unfurl_links=False, unfurl_media=False)
        return posted["ts"]

    async def update_blocks(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
        await self.adapter.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def upload(self, channel: str, thread_ts: str, content: bytes, filename: str) -> None:
        # files.getUploadURLExternal → upload → files.completeUploadExternal (channel_id, thread_ts)
        await self.adapter.client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=content,
                                                  filename=filename, title=filename, request_file_info=False)


# ---- modal submissions → one `/crm` line -----------------------------------------------------

def form_command(form: str, command: str, view: dict, now_stamp: str = "") -> tuple[str, dict[str, str]]:
    """The `/crm` line a submitted modal stands for, or the errors to show on its blocks.

    ``now_stamp`` is the user's local "YYYY-MM-DD HH:MM": a log without a date is dated now
    explicitly, so a summary that mentions a day ("they sign friday") is kept, not read as the date.
    """
    value = lambda block: kit.state_value(view, block)  # noqa: E731
    if form == "log":
        summary = value("summary") or ""
        if not summary:
            return "", {"summary": "Write a few words about it."}
        when = kit.when_phrase(view) or now_stamp
        return " ".join(p for p in (command, value("kind") or "call", when, summary) if p), {}
    if form == "remind":
        what, when = value("what") or "", kit.when_phrase(view)
        errors = {}
        if not when:
            errors["when"] = "Pick a date or say when, e.g. “tomorrow 3pm”."
        if not what:
            errors["what"] = "What should I remind you about?"
        return f"{command} {when} {what}", errors
    if form == "snooze":
        words, choice = value("when"), value("choice")
        when = words or (choice if choice and choice != "custom" else "")
        if not when:
            return "", {"when": "Say until when, e.g. “monday 10am”."}
        return f"{command} {when}", {}
    return command, {}


def error_block(form: str, message: str) -> str:
    """The input block a validation message belongs on."""
    lowered = message.lower()
    if form == "snooze":
        return "when"
    if form == "remind" and any(w in lowered for w in ("about what", "事项")):
        return "what"
    if any(w in lowered for w in ("kind", "类型")):
        return "kind"
    if form == "shortcut" and any(w in lowered for w in ("customer", "客户", "#")):
        return "customer"
    if any(w in lowered for w in ("when", "date", "past", "future", "time", "时间", "日期", "过去", "未来")):
        return "when" if form in ("log", "remind") else "summary"
    return {"log": "summary", "remind": "what", "shortcut": "summary"}.get(form, "summary")


def _short(text: str) -> str:
    return kit.clip(text.replace("`", ""), 300)


def _last_input(view: dict) -> str:
    inputs = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    return inputs[-1] if inputs else "summary"


def _metadata(view: dict) -> dict:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def _message_time(ts: str | None, zone: ZoneInfo) -> str:
    """The message's own time, written so the engine takes it as the interaction's date."""
    moment = datetime.fromtimestamp(float(ts), timezone.utc) if ts else datetime.now(timezone.utc)
    return kit.local_stamp(moment.astimezone(zone))


def _with_note(reply: Reply, note: str) -> Reply:
    from dataclasses import replace

    return replace(reply, text=f"{reply.text}\n{note}", file_path=None, image_path=None)
