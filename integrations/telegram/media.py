"""Telegram messages as the inbox needs them: attachments, forwards, replies, venues; and the
sends that go beyond text: files, edits, deletions.

In: ``inbound_details(message)`` reads a customer's message (PTB objects) into plain data for
the outbox: the literal text and its entities, the attachment to fetch (the largest photo size;
an animation before the ``document`` Telegram adds to GIFs for old clients), and context lines
("forwarded from …", "replying to …", "via @bot"). Forwards are recognised by ``forward_origin``
(Bot API 7.0+) and by the older ``forward_from``/``forward_from_chat``/``forward_sender_name``
fields, which python-telegram-bot 21+ keeps in ``api_kwargs``.

Out: ``TelegramSends`` sends a staff reply's files (downloaded from Slack's ``url_private`` with
the bot token; sendPhoto for pictures up to 10 MB, sendDocument otherwise, the reply's text as
caption when it fits 1,024 characters), edits (editMessageText / editMessageCaption) and deletes
(deleteMessage) the Telegram messages a Slack reply became, and says in the thread what could not
be done (Telegram allows deleting only for 48 hours).
"""
from __future__ import annotations

import html
import logging
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import httpx
from telegram import Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden

from integrations import inbox_live
from integrations.formatting import html_to_plain
from integrations.inbox_relay import Blocked, Undeliverable
from integrations.telegram.render import split_text, units
from crm.types import utcnow

log = logging.getLogger("crm.telegram")

CAPTION_LIMIT = 1024
PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto: "The photo must be at most 10 MB"
UPLOAD_LIMIT = 50 * 1024 * 1024  # sendDocument: "Bots can currently send files of any type of up to 50 MB"
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")

# attachment kinds, in the order they are looked for (animation before the document copy of a GIF)
MEDIA_KINDS = (("animation", "animation"), ("photo", "photo"), ("video", "video"), ("voice", "voice message"),
               ("video_note", "video message"), ("audio", "audio file"), ("document", "document"),
               ("sticker", "sticker"))
DEFAULT_NAMES = {"photo": "photo.jpg", "voice": "voice.ogg", "video": "video.mp4", "video_note": "video-note.mp4",
                 "animation": "animation.mp4", "audio": "audio.mp3", "sticker": "sticker.webp",
                 "document": "document"}
DEFAULT_TYPES = {"photo": "image/jpeg", "voice": "audio/ogg", "video_note": "video/mp4", "sticker": "image/webp"}


def _name(user) -> str:
    if user is None:
        return ""
    full = " ".join(p for p in (getattr(user, "first_name", None), getattr(user, "last_name", None)) if p)
    handle = getattr(user, "username", None)
    return f"{full} (@{handle})" if full and handle else full or (f"@{handle}" if handle else "someone")


def _chat_name(chat) -> str:
    if chat is None:
        return ""
    if isinstance(chat, dict):
        title, handle = chat.get("title") or chat.get("first_name"), chat.get("username")
    else:
        title, handle = chat.title or chat.first_name, chat.username
    return f"{title} (@{handle})" if title and handle else title or (f"@{handle}" if handle else "a chat")


def forwarded_from(message: Message) -> str | None:
    """Who a forwarded message came from, or None when it is not a forward."""
    origin = message.forward_origin
    if origin is not None:
        kind = origin.type
        if kind == "user":
            return _name(origin.sender_user)
        if kind == "hidden_user":
            return origin.sender_user_name or "a hidden user"
        if kind in ("chat", "channel"):
            chat = origin.sender_chat if kind == "chat" else origin.chat
            who = _chat_name(chat)
            signature = getattr(origin, "author_signature", None)
            return f"{who}, {signature}" if signature else who
        return "someone"
    legacy = message.api_kwargs or {}
    if legacy.get("forward_from"):
        raw = legacy["forward_from"]
        full = " ".join(p for p in (raw.get("first_name"), raw.get("last_name")) if p)
        return f"{full} (@{raw['username']})" if raw.get("username") else full or "someone"
    if legacy.get("forward_from_chat"):
        return _chat_name(legacy["forward_from_chat"])
    if legacy.get("forward_sender_name"):
        return str(legacy["forward_sender_name"])
    if legacy.get("forward_date"):
        return "someone"
    return None


def _short(text: str, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def media_of(message: Message) -> dict | None:
    """The attachment to fetch: kind, label, file id, name, type and size."""
    for attr, label in MEDIA_KINDS:
        value = getattr(message, attr, None)
        if not value:
            continue
        if attr == "photo":
            value = max(value, key=lambda p: (p.width or 0) * (p.height or 0))  # the largest size
        name = getattr(value, "file_name", None) or DEFAULT_NAMES[attr]
        if attr == "photo":
            name = f"photo-{message.message_id}.jpg"
        elif attr == "sticker":
            name, mime = (("sticker.tgs", "application/x-tgsticker") if value.is_animated
                          else ("sticker.webm", "video/webm") if value.is_video else (name, "image/webp"))
            return {"kind": attr, "label": label, "file_id": value.file_id, "file_unique_id": value.file_unique_id,
                    "name": name, "mimetype": mime, "size": getattr(value, "file_size", None)}
        mime = getattr(value, "mime_type", None) or DEFAULT_TYPES.get(attr) or "application/octet-stream"
        return {"kind": attr, "label": label, "file_id": value.file_id, "file_unique_id": value.file_unique_id,
                "name": name, "mimetype": mime, "size": getattr(value, "file_size", None)}
    return None


def context_lines(message: Message) -> list[str]:
    """Forward, reply and inline-bot context, as short plain lines."""
    lines = []
    origin = forwarded_from(message)
    if origin:
        lines.append(f"↪️ Forwarded from {origin}")
    replied = message.reply_to_message
    if replied is not None:
        quoted = message.quote.text if message.quote is not None else (replied.text or replied.caption or "")
        media = media_of(replied)
        what = _short(quoted) or (f"[{media['label']}]" if media else "an earlier message")
        by = "our message" if replied.from_user is not None and replied.from_user.is_bot else "their message"
        lines.append(f"↩️ Replying to {by}: “{what}”")
    elif message.external_reply is not None:
        lines.append("↩️ Replying to a message from another chat"
                     + (f": “{_short(message.quote.text)}”" if message.quote is not None else ""))
    if message.via_bot is not None:
        lines.append(f"🤖 Sent via @{message.via_bot.username}")
    return lines


def inbound_details(message: Message) -> dict:
    """Everything the team's thread shows of a customer's message, as JSON-able data."""
    text = message.text if message.text is not None else (message.caption or "")
    entities = message.entities if message.text is not None else message.caption_entities
    details = {"raw_text": text, "entities": [e.to_dict() for e in entities or ()],
               "context": context_lines(message), "media": media_of(message),
               "telegram": {"chat_id": message.chat_id, "message_id": message.message_id}}
    if message.venue is not None:
        venue = message.venue
        place = f"📍 {venue.title}, {venue.address}"
        details["raw_text"] = place + (f"\n{text}" if text else "")
        details["entities"] = []
    elif message.location is not None:
        where = message.location
        url = f"https://www.openstreetmap.org/?mlat={where.latitude:.5f}&mlon={where.longitude:.5f}#map=17"
        lead = f"📍 Location {where.latitude:.5f}, {where.longitude:.5f}: "
        details["raw_text"] = lead + url + (f"\n{text}" if text else "")
        details["entities"] = [{"type": "url", "offset": len(lead.encode("utf-16-le")) // 2,
                                "length": len(url)}]  # a link staff can open
    elif not text and describe_other(message):
        details["raw_text"] = describe_other(message)
    return details


def describe_other(message: Message) -> str | None:
    """Content with no text and no file to fetch, named so that it is not lost: polls, dice, stories …"""
    if message.poll is not None:
        options = " / ".join(o.text for o in message.poll.options)
        return f"[poll] {message.poll.question}" + (f" ({options})" if options else "")
    if message.dice is not None:
        return f"[dice {message.dice.emoji} {message.dice.value}]"
    if message.story is not None:
        return "[story]"
    if message.game is not None:
        return f"[game] {message.game.title}"
    if getattr(message, "checklist", None) is not None:
        return f"[checklist] {message.checklist.title}"
    if message.paid_media is not None:
        return "[paid media]"
    if message.giveaway is not None:
        return "[giveaway]"
    return None


def describe_venue(message: Message) -> str | None:
    if message.venue is None:
        return None
    v = message.venue
    return f"[venue] {v.title}, {v.address} ({v.location.latitude:.5f},{v.location.longitude:.5f})"


# ---------------------------------------------------------------- out: files, edits, deletions


def _slack_host(url: str, api_url: str) -> bool:
    """Whether ``url`` is Slack's own file server (or SLACK_API_URL's host): the only place the bot token goes."""
    host = (urlsplit(url).hostname or "").lower()
    api_host = (urlsplit(api_url).hostname or "").lower()
    return host == api_host or host in ("files.slack.com", "files.slack-gov.com") \
        or host.endswith((".slack.com", ".slack-gov.com"))


def _files_url(url: str, api_url: str) -> str:
    """Slack file URLs are fetched from SLACK_API_URL's host when that is not Slack itself (a proxy,
    or the local stand-in of the tests): the same place every other Slack call goes."""
    api = urlsplit(api_url)
    target = urlsplit(url)
    if api.hostname in ("slack.com", "www.slack.com") or not api.hostname:
        return url
    return urlunsplit((api.scheme, api.netloc, target.path, target.query, ""))


class TelegramSends:
    def __init__(self, adapter):
        self.adapter = adapter
        self.db = adapter.db
        self.settings = adapter.settings

    @property
    def bot(self):
        return self.adapter.application.bot

    # ---- downloads -----------------------------------------------------------------------
    async def download_media(self, media: dict) -> bytes:
        """A customer's file through getFile and the file URL (PTB's base_file_url)."""
        size = media.get("size")
        if size and size > inbox_live.TELEGRAM_DOWNLOAD_LIMIT:
            raise ValueError("larger than the 20 MB bots may download")
        telegram_file = await self.bot.get_file(media["file_id"])
        if telegram_file.file_size and telegram_file.file_size > inbox_live.TELEGRAM_DOWNLOAD_LIMIT:
            raise ValueError("larger than the 20 MB bots may download")
        return bytes(await telegram_file.download_as_bytearray())

    async def _slack_file(self, file: dict) -> bytes:
        if file.get("external"):
            raise ValueError("it is an external file (a link to another service); send the customer a link instead")
        if not file.get("url"):
            raise ValueError("Slack gave no download link for it")
        if not _slack_host(file["url"], self.settings.slack_api_url):
            raise ValueError("its link is not on Slack's file server")  # the bot token goes to Slack only
        if file.get("size") and file["size"] > UPLOAD_LIMIT:
            raise ValueError(f"it is {inbox_live.human_size(file['size'])}; bots can send at most 50 MB")
        url = _files_url(file["url"], self.settings.slack_api_url)
        async with httpx.AsyncClient(timeout=60, follow_redirects=True) as client:
            response = await client.get(url, headers={"Authorization": f"Bearer {self.settings.slack_bot_token}"})
        if response.status_code != 200:
            raise ValueError(f"Slack answered {response.status_code} to the download")
        if "text/html" in response.headers.get("content-type", "") and not file.get("mimetype", "").startswith("text/html"):
            raise ValueError("Slack answered a login page: the app needs the files:read scope")
        return response.content

    # ---- sends ---------------------------------------------------------------------------
    async def send(self, chat_id: int, kind: str, payload: dict) -> str:
        try:
            if kind == "edit":
                return await self._edit(chat_id, payload)
            if kind == "delete":
                return await self._delete(chat_id, payload)
            return await self._message(chat_id, payload)
        except Forbidden as exc:
            raise Blocked(str(exc)) from exc
        except (BadRequest, ChatMigrated) as exc:  # retrying the same request cannot help
            raise Undeliverable(f"Telegram refused the message: {exc}") from exc

    async def _message(self, chat_id: int, payload: dict) -> str:
        """A staff reply: its files (the text as the first one's caption when it fits), then the text."""
        html_text = payload.get("html")
        plain = payload.get("text", "")
        if html_text is None:
            html_text = html.escape(plain, quote=False)
        sent: list[tuple[int, str]] = []
        failures: list[str] = []
        caption_used = False
        for file in payload.get("files") or []:
            try:
                data = await self._slack_file(file)
            except Exception as exc:  # noqa: BLE001 - told in the thread; the rest still goes
                failures.append(f"“{file.get('name')}” ({exc})")
                continue
            caption = None
            if not caption_used and html_text.strip() and units(html_text) <= CAPTION_LIMIT:
                caption, caption_used = html_text, True
            photo = file.get("mimetype") in PHOTO_TYPES and len(data) <= PHOTO_LIMIT \
                and file.get("mimetype") != "image/gif"
            try:
                if photo:
                    message = await self.bot.send_photo(chat_id, data, caption=caption, parse_mode=ParseMode.HTML,
                                                        filename=file.get("name"))
                else:
                    message = await self.bot.send_document(chat_id, data, caption=caption,
                                                           parse_mode=ParseMode.HTML, filename=file.get("name"))
            except BadRequest as exc:
                failures.append(f"“{file.get('name')}” (Telegram refused it: {exc})")
                if caption:
                    caption_used = False
                continue
            sent.append((message.message_id, "caption" if caption else "media"))
        if html_text.strip() and not caption_used:
            try:
                if units(html_text) > 4096:
                    # a tag may span lines (pre, quotes): a reply this long goes as plain text, split safely
                    raise _TooLong
                message = await self.bot.send_message(chat_id, html_text, parse_mode=ParseMode.HTML)
                sent.append((message.message_id, "text"))
            except (BadRequest, _TooLong):
                # formatting Telegram would not take: the words still go, plainly
                for chunk in split_text(html_to_plain(html_text) if payload.get("html") else plain):
                    message = await self.bot.send_message(chat_id, chunk, parse_mode=ParseMode.HTML)
                    sent.append((message.message_id, "text"))
        if not sent and failures:
            raise Undeliverable("no file could be sent: " + "; ".join(failures))
        if payload.get("slack_ts") and sent:
            await self.adapter.app.in_background(
                inbox_live.record_links, self.db, ticket_id=payload.get("ticket_id"), interaction_id=None,
                direction="outbound", slack_channel=payload.get("slack_channel") or "",
                slack_ts=payload["slack_ts"], chat_id=chat_id, messages=sent)
        if failures:
            await self._note(payload, "⚠️ Not sent to the customer: " + "; ".join(failures) + ".")
        return str(sent[-1][0]) if sent else ""

    async def _note(self, payload: dict, text: str) -> None:
        await self.adapter.app.in_background(inbox_live.note_in_thread, self.db, payload.get("ticket_id"), text)
        self.adapter.wake()

    async def _edit(self, chat_id: int, payload: dict) -> str:
        links = await self.adapter.app.in_background(inbox_live.links_for_slack, self.db,
                                                     payload.get("slack_channel") or "", payload.get("slack_ts") or "")
        editable = [link for link in links if link.part in ("text", "caption")]
        if not editable:
            await self._note(payload, "⚠️ The edit was not sent: the customer never got that message as text.")
            return ""
        html_text = payload.get("html") or html.escape(payload.get("text", ""), quote=False)
        first = editable[0]
        try:
            if first.part == "caption":
                if units(html_text) > CAPTION_LIMIT:
                    html_text = html.escape(html_to_plain(html_text)[:CAPTION_LIMIT - 1] + "…", quote=False)
                await self.bot.edit_message_caption(chat_id, first.telegram_message_id, caption=html_text,
                                                    parse_mode=ParseMode.HTML)
            else:
                if units(html_text) > 4096:
                    html_text = html.escape(html_to_plain(html_text)[:4000] + "…", quote=False)
                await self.bot.edit_message_text(html_text, chat_id, first.telegram_message_id,
                                                 parse_mode=ParseMode.HTML)
        except BadRequest as exc:
            message = str(exc).lower()
            if "not modified" in message:
                return str(first.telegram_message_id)
            if "can't be edited" in message or "not found" in message or _older_than_window(first.created_at):
                await self._note(payload, "⚠️ Telegram no longer lets the bot change that message "
                                          "(after 48 hours, or it was removed); the customer still sees the "
                                          "earlier version. Send a correction instead.")
                return ""
            raise Undeliverable(f"Telegram refused the edit: {exc}") from exc
        # the rest of a long reply split over several messages: its later parts are gone from the new text
        for extra in editable[1:]:
            if extra.part == "text":
                try:
                    await self.bot.delete_message(chat_id, extra.telegram_message_id)
                except BadRequest:
                    pass
        return str(first.telegram_message_id)

    async def _delete(self, chat_id: int, payload: dict) -> str:
        links = await self.adapter.app.in_background(inbox_live.links_for_slack, self.db,
                                                     payload.get("slack_channel") or "", payload.get("slack_ts") or "")
        if not links:
            return ""
        if any(_older_than_window(link.created_at) for link in links):
            await self._note(payload, "⚠️ Deleted here, but Telegram lets bots delete messages only within 48 "
                                      "hours: the customer still has it. Send a correction if it matters.")
            return ""
        gone = []
        for link in links:
            try:
                await self.bot.delete_message(chat_id, link.telegram_message_id)
                gone.append(link.id)
            except BadRequest as exc:
                if "not found" in str(exc).lower():
                    gone.append(link.id)
                    continue
                await self._note(payload, f"⚠️ Deleted here, but Telegram would not delete it for the customer "
                                          f"({exc}).")
                break
        await self.adapter.app.in_background(inbox_live.mark_deleted, self.db, gone)
        return ",".join(str(link.telegram_message_id) for link in links)[:64]


class _TooLong(Exception):
    pass


def _older_than_window(created_at: datetime | None) -> bool:
    if created_at is None:
        return False
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    return utcnow() - created_at > inbox_live.EDIT_WINDOW
