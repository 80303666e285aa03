"""Slack events beyond slash commands: ticket-thread replies of every kind, DMs, mentions.

Registered on the Bolt app by ``integrations/slack/adapter.py``. Every event the manifest subscribes to is
acknowledged at once (Bolt's lazy listeners do the work afterwards), and events nobody handles
are acknowledged too instead of Bolt's 404.

* In a ticket's thread (``message`` events): plain replies, replies with files (``file_share``,
  also Slack's older single ``file`` shape), "also send to channel" replies (``thread_broadcast``)
  go to the customer, formatted (``integrations/formatting.py``) with their files; an edit
  (``message_changed``) edits the customer's Telegram message and a deletion
  (``message_deleted``) deletes it. Replies that start by mentioning the app are commands, not
  messages for the customer.
* In the app's Messages tab (``message.im``): the text runs as a ``/crm`` command (the ``/crm``
  optional) and is answered in the DM, with working buttons; strangers get the polite refusal.
* ``app_mention`` (``@crm find globex``): the command runs and is answered in a thread.

Nothing here posts our own messages back into the loop: events from bots, and from this app's
own user, are ignored.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

from bot.replies import Reply
from integrations import formatting
from integrations.slack import blocks as kit
from integrations.slack.answering import apology
from integrations.slack.wire import unescape

log = logging.getLogger("crm.slack")

POSTED = (None, "", "file_share", "thread_broadcast")  # subtypes that are a person's new message
_LEADING_MENTION = re.compile(r"^\s*<@([A-Z0-9]+)(?:\|[^>]*)?>[\s:,]*")
_CRM_PREFIX = re.compile(r"^\s*/?crm\b\s*", re.I)


@dataclass
class SlackFile:
    """What the relay needs of a file a staff member attached in Slack."""

    id: str
    name: str
    mimetype: str
    size: int
    url: str | None
    external: bool = False  # a Google Drive, Dropbox … file: a link, not a file Slack holds

    @classmethod
    def of(cls, raw: dict) -> "SlackFile":
        try:
            size = int(raw.get("size") or 0)
        except (TypeError, ValueError):
            size = 0
        external = bool(raw.get("is_external")) or raw.get("mode") == "external"
        return cls(id=str(raw.get("id") or ""), name=str(raw.get("name") or raw.get("title") or "file"),
                   mimetype=str(raw.get("mimetype") or "application/octet-stream"), size=size,
                   url=raw.get("url_private_download") or raw.get("url_private"), external=external)

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "mimetype": self.mimetype, "size": self.size, "url": self.url,
                "external": self.external}


@dataclass
class StaffMessage:
    """A person's message in Slack, as the inbox needs it."""

    channel: str
    ts: str
    thread_ts: str | None
    user: str
    text: str  # Slack's wire format (mrkdwn)
    files: list[SlackFile] = field(default_factory=list)


def files_of(message: dict) -> list[SlackFile]:
    """Files of a message: ``files`` (today's events) or ``file`` (older file_share events).
    Files Slack hides from bots (``mode: "tombstone"`` / ``hidden_by_limit``) have no URL."""
    raw = message.get("files")
    if not isinstance(raw, list):
        raw = [message["file"]] if isinstance(message.get("file"), dict) else []
    return [SlackFile.of(f) for f in raw if isinstance(f, dict) and f.get("mode") != "tombstone"]


def shared_quotes(message: dict) -> str:
    """Messages a reply shares or quotes (Slack's message unfurls: ``attachments`` with ``is_share`` or
    ``is_msg_unfurl``), as mrkdwn quote lines with their author, to follow the reply's own text."""
    lines = []
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict) or not (attachment.get("is_share") or attachment.get("is_msg_unfurl")):
            continue
        quoted = (attachment.get("text") or attachment.get("fallback") or "").strip()
        if not quoted:
            continue
        author = attachment.get("author_name") or attachment.get("author_subname")
        if author:
            lines.append(f"&gt; *{author}:*")
        lines += [f"&gt; {line}" for line in quoted.split("\n")]
    return "\n".join(lines)


def command_text(text: str, bot_user_id: str | None = None) -> str:
    """A DM or mention as a ``/crm`` line: the app's mention and a leading ``/crm`` removed."""
    text = text or ""
    match = _LEADING_MENTION.match(text)
    if match and (bot_user_id is None or match.group(1) == bot_user_id):
        text = text[match.end():]
    return _CRM_PREFIX.sub("", unescape(text), count=1).strip() or "help"


def _bot_user(context) -> str | None:
    try:
        return context.get("bot_user_id") if context is not None else None
    except Exception:
        return None


def _from_a_bot(message: dict, bot_user_id: str | None) -> bool:
    return bool(message.get("bot_id") or message.get("subtype") == "bot_message"
                or (bot_user_id and message.get("user") == bot_user_id) or not message.get("user"))


class SlackEvents:
    def __init__(self, adapter):
        self.adapter = adapter
        self._names: dict[str, str | None] = {}
        self._tasks: set[asyncio.Task] = set()

    def register(self, bolt, ack) -> None:
        # acked first, then our own task: Bolt's lazy listeners deep-copy the request context, which
        # fails ("cannot pickle 'module'") for DM messages in assistant threads (Bolt attaches helpers)
        bolt.event("message")(self._later(self.on_message))
        bolt.event("app_mention")(self._later(self.on_mention))
        # the manifest subscribes to it; nothing to do (the bot learns of threads from their messages)
        bolt.event("member_joined_channel")(ack)

    def _later(self, handler):
        async def listener(ack, event: dict, body: dict, context) -> None:
            await ack()
            bot_user = _bot_user(context)
            task = asyncio.create_task(handler(event, body, {"bot_user_id": bot_user}))
            self._tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(self._tasks.discard)
        return listener

    def register_fallback(self, bolt, ack) -> None:
        """Last: any other event is acknowledged (200) rather than left to Bolt's 404."""
        bolt.event(re.compile(r".*"))(ack)

    @property
    def inbox(self):
        """The staff side of the customer inbox (None without Telegram)."""
        return self.adapter.app.engine.ports.customer_inbox

    # ------------------------------------------------------------ message events

    async def on_message(self, event: dict, body: dict, context=None) -> None:
        bot_user = _bot_user(context)
        subtype = event.get("subtype")
        event_id = body.get("event_id", "")
        try:
            if subtype in POSTED:
                if _from_a_bot(event, bot_user):
                    return
                await self._posted(event, event_id, bot_user)
            elif subtype == "message_changed":
                await self._changed(event, event_id, bot_user)
            elif subtype == "message_deleted":
                await self._deleted(event, event_id, bot_user)
        except Exception:
            log.exception("Slack message event %s (%s) failed", event_id, subtype or "message")

    async def _posted(self, event: dict, event_id: str, bot_user: str | None) -> None:
        channel, ts, thread_ts = event.get("channel") or "", event.get("ts") or "", event.get("thread_ts")
        text = event.get("text") or ""
        in_thread = bool(thread_ts and thread_ts != ts)
        inbox = self.inbox
        if in_thread and inbox is not None and await inbox.is_ticket_thread(channel, thread_ts):
            if _LEADING_MENTION.match(text) and _LEADING_MENTION.match(text).group(1) == bot_user:
                return  # "@crm show globex" in the thread is a command (app_mention answers it)
            quotes = shared_quotes(event)
            text = f"{text}\n{quotes}".strip() if quotes else text
            message = StaffMessage(channel, ts, thread_ts, event["user"], text, files_of(event))
            await inbox.staff_message(message, event_id, await self.html_of(text), await self.plain_of(text))
            return
        if event.get("channel_type") == "im" or channel.startswith("D"):
            await self._direct_message(event, event_id, bot_user)

    async def _changed(self, event: dict, event_id: str, bot_user: str | None) -> None:
        message = event.get("message") or {}
        previous = event.get("previous_message") or {}
        if _from_a_bot(message, bot_user) or self.inbox is None:
            return
        # Slack also sends message_changed for unfurls and reply counts: only a changed text or file list counts
        if message.get("text") == previous.get("text") and [f.get("id") for f in message.get("files") or []] == \
                [f.get("id") for f in previous.get("files") or []]:
            return
        channel = event.get("channel") or ""
        ts = message.get("ts") or previous.get("ts") or ""
        text = message.get("text") or ""
        edited = StaffMessage(channel, ts, message.get("thread_ts"), message.get("user") or "", text,
                              files_of(message))
        await self.inbox.staff_edit(edited, event_id, await self.html_of(text), await self.plain_of(text))

    async def _deleted(self, event: dict, event_id: str, bot_user: str | None) -> None:
        previous = event.get("previous_message") or {}
        if previous and _from_a_bot(previous, bot_user):
            return
        if self.inbox is None:
            return
        ts = event.get("deleted_ts") or previous.get("ts")
        if ts:
            await self.inbox.staff_delete(event.get("channel") or "", ts, event_id, previous.get("thread_ts"))

    # ------------------------------------------------------------ formatting with names

    async def name_of(self, user_id: str) -> str | None:
        """A colleague's name for a mention: the staff directory first, then users.info."""
        if user_id in self._names:
            return self._names[user_id]
        name = await asyncio.to_thread(self._staff_name, user_id)
        if name is None:
            try:
                info = await self.adapter.client.users_info(user=user_id)
                user = info.get("user") or {}
                profile = user.get("profile") or {}
                name = (profile.get("real_name") or user.get("real_name") or profile.get("display_name")
                        or user.get("name")) or None
            except SlackApiError as err:
                log.info("users.info %s failed: %s", user_id, err.response.get("error"))
        self._names[user_id] = name
        return name

    def _staff_name(self, user_id: str) -> str | None:
        from bot.identity import find_staff

        with self.adapter.app.db.session() as session:
            staff = find_staff(session, "slack", user_id)
            return staff.name if staff else None

    async def _names_for(self, text: str) -> dict[str, str | None]:
        return {uid: await self.name_of(uid) for uid in formatting.mentioned_users(text)}

    async def html_of(self, text: str) -> str:
        names = await self._names_for(text)
        return formatting.slack_to_telegram_html(text, names.get)

    async def plain_of(self, text: str) -> str:
        names = await self._names_for(text)
        return formatting.slack_to_plain(text, names.get)

    # ------------------------------------------------------------ commands in DMs and mentions

    async def _direct_message(self, event: dict, event_id: str, bot_user: str | None) -> None:
        if event.get("subtype") not in (None, ""):
            return  # a file dropped into the DM is no command
        adapter = self.adapter
        channel, user = event.get("channel") or "", event["user"]
        text = command_text(event.get("text") or "", bot_user)
        reply = await adapter.run(user, text, channel_id=channel, message_id=f"im:{channel}:{event.get('ts')}",
                                  once=True)
        await self._post(channel, reply, thread_ts=event.get("thread_ts"))

    async def on_mention(self, event: dict, body: dict, context=None) -> None:
        bot_user = _bot_user(context)
        if _from_a_bot(event, bot_user):
            return
        channel = event.get("channel") or ""
        thread_ts = event.get("thread_ts") or event.get("ts")
        try:
            # the mention that raised this event is the app's, whatever id the workspace shows for it
            text = command_text(event.get("text") or "")
            reply = await self.adapter.run(event["user"], text, channel_id=channel,
                                           message_id=f"mention:{channel}:{event.get('ts')}", once=True)
            await self._post(channel, reply, thread_ts=thread_ts)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("answering a mention in %s failed (ref %s)", channel, ref)
            try:
                lang = await self.adapter.identity.language_of(event["user"])
                await self.adapter.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=apology(ref, lang))
            except SlackApiError:
                pass

    async def _post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> None:
        """A reply in a conversation (DM or channel thread); files are uploaded next to it."""
        client = self.adapter.client
        for text, blocks in kit.render_messages(reply):
            await client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)
        if reply.file_path or reply.image_path:
            await self.adapter._upload_files(channel, reply)
