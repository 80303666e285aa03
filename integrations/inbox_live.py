"""The live conversation of a ticket, both ways: files, formatting, edits and deletions.

Staff side (called by ``integrations/slack/listeners/events.py`` for messages in a ticket's thread):
a reply, with its files and its formatting, is stored and queued for the customer; an edit
queues an ``edit`` of the Telegram message(s) it became, a deletion a ``delete``; the stored
interaction keeps the history. Each is claimed once per Slack event id in the same
transaction as its work.

Customer side (called by ``integrations/inbox_relay.py`` when it posts into the thread): the
customer's message is drawn as literal rich text (``integrations/formatting.py``); a photo,
document, voice note, video or animation is fetched from Telegram and uploaded into the thread
with Slack's upload flow (files.getUploadURLExternal → upload → files.completeUploadExternal,
which ``files_upload_v2`` performs); one that cannot be fetched (over the Bot API's 20 MB, or
failing) is reported in the thread instead. A customer's edit updates the relayed Slack message
(chat.update) and marks it edited.

Which message became which is kept in ``relayed_message`` (ids only).
"""
from __future__ import annotations

import html as _html
import json
import logging
from datetime import timedelta

from sqlmodel import col, select

from bot.identity import find_staff
from bot.replies import mention
from crm.events import claim_event_in
from crm.inbox import links, outbox, tickets
from crm.models import Customer, InboxOutbox, Interaction, RelayedMessage, Ticket
from integrations import formatting

log = logging.getLogger("crm.inbox")

EDIT_WINDOW = timedelta(hours=48)  # Telegram: bots may delete (and, in business chats, edit) for 48 h
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile: "bots can download files of up to 20 MB"


def human_size(size: int | None) -> str:
    if not size:
        return "size unknown"
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def file_line(name: str, mimetype: str | None, size: int | None) -> str:
    """How a file is written into the stored interaction (shown in /crm show and exports)."""
    return f"📎 {name} ({mimetype or 'unknown type'}, {human_size(size)})"


# ---------------------------------------------------------------- staff side (Slack → customer)


class StaffThreads:
    """Staff messages in ticket threads; ``relay`` is the InboxRelay (its db, app, wake)."""

    def __init__(self, relay):
        self.relay = relay
        self.app = relay.app
        self.db = relay.db

    async def is_ticket_thread(self, channel: str, thread_ts: str) -> bool:
        def find():
            with self.db.session() as s:
                return tickets.ticket_for_thread(s, channel, thread_ts) is not None
        return await self.app.in_background(find)

    async def staff_reply(self, channel: str, thread_ts: str, slack_user_id: str, text: str, event_id: str) -> bool:
        """A plain-text reply (no files, no formatting): ``text`` is what the customer reads."""
        from integrations.slack.listeners.events import StaffMessage

        message = StaffMessage(channel, "", thread_ts, slack_user_id, text)
        return await self.staff_message(message, event_id, _html.escape(text, quote=False), text)

    async def staff_message(self, message, event_id: str, html: str, plain: str) -> bool:
        done = await self.app.in_background(self._staff_message, message, event_id, html, plain)
        self.relay.wake()
        return done

    def _staff_message(self, message, event_id: str, html: str, plain: str) -> bool:
        now = self.app.engine.clock()
        with self.db.write_session() as s:
            ticket = tickets.ticket_for_thread(s, message.channel, message.thread_ts)
            if ticket is None:
                return False
            if not claim_event_in(s, "inbox", f"slack:{event_id}"):
                return True
            staff = find_staff(s, "slack", message.user)  # None for strangers and deactivated staff
            body = plain.strip()
            if staff is None:
                # neither a reply nor an internal note: only active staff write on a customer's record
                what = "Not stored" if body.startswith("//") else "Not sent to the customer"
                outbox.to_thread(s, ticket, "note", f"⚠️ {what}: {mention('the author', message.user)} is not CRM "
                                                    "staff (or no longer active). An admin can add them with "
                                                    "`crm-bot staff add`.")
                return True
            if body.startswith("//"):
                tickets.internal_note(s, ticket, staff, body[2:].strip(), event_id=event_id, now=now)
                return True
            files = [f.as_dict() for f in message.files]
            if not body and not files:
                return True
            stored = "\n".join([body] + [file_line(f["name"], f["mimetype"], f["size"]) for f in files]).strip()
            delivery = {"html": html, "files": files, "ticket_id": ticket.id,
                        "slack_channel": message.channel, "slack_ts": message.ts}
            tickets.staff_reply(s, ticket, staff, stored, event_id=event_id, now=now, delivery=delivery)
            if not files:
                return True
            # the customer gets the text, not our file lines: those are for the CRM
            row = s.exec(select(InboxOutbox).where(InboxOutbox.ticket_id == ticket.id,
                                                   InboxOutbox.target == "telegram", InboxOutbox.kind == "message")
                         .order_by(col(InboxOutbox.id).desc())).first()
            if row is not None:
                payload = json.loads(row.payload)
                payload["text"] = body
                row.payload = json.dumps(payload, ensure_ascii=False)
                s.add(row)
        return True

    async def staff_edit(self, message, event_id: str, html: str, plain: str) -> None:
        await self.app.in_background(self._staff_edit, message, event_id, html, plain)
        self.relay.wake()

    def _original(self, s, channel: str, ts: str,
                  thread_ts: str | None = None) -> tuple[Ticket | None, InboxOutbox | None]:
        """The ticket and queued send of the staff reply posted as (channel, ts), if it was one."""
        ticket = tickets.ticket_for_thread(s, channel, thread_ts) if thread_ts else None
        if ticket is None:
            link = s.exec(select(RelayedMessage).where(RelayedMessage.slack_channel == channel,
                                                       RelayedMessage.slack_ts == ts,
                                                       RelayedMessage.direction == "outbound")).first()
            ticket = s.get(Ticket, link.ticket_id) if link and link.ticket_id else None
        candidates = select(InboxOutbox).where(InboxOutbox.target == "telegram", InboxOutbox.kind == "message",
                                               col(InboxOutbox.payload).contains(f'"slack_ts": "{ts}"'))
        if ticket is not None:
            candidates = candidates.where(InboxOutbox.ticket_id == ticket.id)
        for row in s.exec(candidates.order_by(col(InboxOutbox.id).desc())).all():
            payload = json.loads(row.payload or "{}")
            if payload.get("slack_ts") == ts and payload.get("slack_channel") == channel:
                return s.get(Ticket, row.ticket_id), row
        return ticket, None

    def _staff_edit(self, message, event_id: str, html: str, plain: str) -> None:
        with self.db.write_session() as s:
            if not claim_event_in(s, "inbox", f"slack:{event_id}"):
                return
            ticket, original = self._original(s, message.channel, message.ts, message.thread_ts)
            if ticket is None or original is None:
                return  # not a relayed staff reply (a note, a command, another thread)
            interaction = s.get(Interaction, original.interaction_id) if original.interaction_id else None
            if interaction is not None:
                before = interaction.text
                files = [ln for ln in before.split("\n") if ln.startswith("📎 ")]
                interaction.text = "\n".join([plain.strip()] + files
                                             + [f"(edited in Slack; before: {before.split(chr(10))[0][:500]})"])
                s.add(interaction)
            if original.status in ("pending",):
                # not sent yet: the customer simply gets the corrected text
                payload = json.loads(original.payload)
                payload.update(text=plain.strip(), html=html)
                original.payload = json.dumps(payload, ensure_ascii=False)
                s.add(original)
                return
            customer = s.get(Customer, ticket.customer_id)
            if customer is None or customer.telegram_chat_id is None:
                return
            outbox.to_customer(s, customer, "edit", plain.strip(), ticket=ticket, interaction=interaction, html=html,
                               ticket_id=ticket.id, slack_channel=message.channel, slack_ts=message.ts)

    async def staff_delete(self, channel: str, ts: str, event_id: str, thread_ts: str | None = None) -> None:
        await self.app.in_background(self._staff_delete, channel, ts, event_id, thread_ts)
        self.relay.wake()

    def _staff_delete(self, channel: str, ts: str, event_id: str, thread_ts: str | None = None) -> None:
        with self.db.write_session() as s:
            if not claim_event_in(s, "inbox", f"slack:{event_id}"):
                return
            ticket, original = self._original(s, channel, ts, thread_ts)
            if ticket is None or original is None:
                return
            interaction = s.get(Interaction, original.interaction_id) if original.interaction_id else None
            if interaction is not None and not interaction.text.startswith("(deleted in Slack)"):
                interaction.text = f"(deleted in Slack) {interaction.text}"
                s.add(interaction)
            if original.status == "pending":
                original.status, original.last_error = "failed", "deleted in Slack before it was sent"
                s.add(original)
                return
            customer = s.get(Customer, ticket.customer_id)
            if customer is None or customer.telegram_chat_id is None:
                return
            outbox.to_customer(s, customer, "delete", "", ticket=ticket, interaction=interaction,
                               ticket_id=ticket.id, slack_channel=channel, slack_ts=ts)


def record_links(db, *, ticket_id: int | None, interaction_id: int | None, direction: str, slack_channel: str,
                 slack_ts: str, chat_id: int, messages: list[tuple[int, str]]) -> None:
    """Remembers which Telegram message(s) (id, part) a Slack message became, or the other way round. Called
    once the message is sent: a failure here (an interaction erased meanwhile breaks the foreign key) is
    logged, never raised, or the relay would count the send as failed and send the message again. Without
    its link, an edit of the message is posted anew instead of updating it."""
    try:
        with db.write_session() as s:
            links.add_links(s, ticket_id=ticket_id, direction=direction, slack_channel=slack_channel,
                            slack_ts=slack_ts, messages=[(interaction_id, chat_id, message_id, part)
                                                         for message_id, part in messages])
    except Exception as exc:  # noqa: BLE001 - the message is already sent
        log.warning("inbox: the links of Slack message %s (ticket %s) were not recorded: %r", slack_ts, ticket_id,
                    exc)


def links_for_slack(db, channel: str, ts: str, direction: str = "outbound") -> list[RelayedMessage]:
    with db.session() as s:
        return list(s.exec(select(RelayedMessage).where(RelayedMessage.slack_channel == channel,
                                                        RelayedMessage.slack_ts == ts,
                                                        RelayedMessage.direction == direction,
                                                        col(RelayedMessage.deleted).is_(False))
                           .order_by(RelayedMessage.id)).all())


def link_for_telegram(db, chat_id: int, message_id: int) -> RelayedMessage | None:
    with db.session() as s:
        return s.exec(select(RelayedMessage).where(RelayedMessage.telegram_chat_id == chat_id,
                                                   RelayedMessage.telegram_message_id == message_id,
                                                   RelayedMessage.direction == "inbound")
                      .order_by(col(RelayedMessage.id).desc())).first()


def mark_deleted(db, link_ids: list[int]) -> None:
    with db.write_session() as s:
        links.mark_deleted(s, link_ids=link_ids)


def note_in_thread(db, ticket_id: int | None, text: str) -> None:
    """A line in the ticket's thread (what could not be relayed, and why)."""
    if ticket_id is None:
        log.warning("inbox: %s", text)
        return
    with db.write_session() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is not None:
            outbox.to_thread(s, ticket, "note", text)


# ---------------------------------------------------------------- customer side (Telegram → thread)


def thread_rich_text(payload: dict, *, edited: bool = False) -> tuple[str, list[dict]]:
    """(notification text, blocks) of a customer's message: literal rich text, their own formatting."""
    author = payload.get("author") or "Customer"
    text = payload.get("raw_text")
    entities = payload.get("entities") or []
    if text is None:  # rows queued before this version: the stored text, no entities
        text, entities = payload.get("text", ""), []
    context = [c for c in (payload.get("context") or []) if c]
    lead = f"{'✏️' if edited else '💬'} {author}{' (edited)' if edited else ''}:"
    blocks = []
    if context:
        blocks.append({"type": "context", "elements": [
            {"type": "plain_text", "text": kit_clip(line, 2000), "emoji": True} for line in context[:10]]})
    blocks.append(formatting.telegram_to_rich_text(text or (payload.get("text") or ""), entities, lead=lead))
    if payload.get("raw_text") is not None and not context:
        fallback = formatting.escape_mrkdwn(lead) + " " + formatting.telegram_to_mrkdwn(text, entities)
    else:  # with a forward or reply line, or an older row: the stored description, escaped
        fallback = formatting.escape_mrkdwn(f"{lead} " + (payload.get("text") or text or ""))
    return fallback[:3000], blocks


def kit_clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def post_customer_message(relay, ticket: Ticket, row: InboxOutbox, payload: dict) -> str:
    """A customer's message (or its edit) in the ticket's existing thread; returns the Slack ts."""
    team = relay.app.engine.ports.team_inbox
    channel, thread_ts = ticket.slack_channel, ticket.slack_thread_ts
    telegram = payload.get("telegram") or {}
    if row.kind == "edit":
        text, blocks = thread_rich_text(payload, edited=True)
        link = await relay.app.in_background(link_for_telegram, relay.db, telegram.get("chat_id"),
                                             telegram.get("message_id")) if telegram else None
        # the card and a coalesced post (relay_pacing) hold other messages too: the edit follows instead
        if link is not None and link.part not in ("card", "batch"):
            await team.update_blocks(link.slack_channel, link.slack_ts, text, blocks)
            return link.slack_ts
        return await team.post_blocks(channel, thread_ts, text, blocks)  # the card stays; the edit follows it
    text, blocks = thread_rich_text(payload)
    ts = await team.post_blocks(channel, thread_ts, text, blocks)
    if telegram.get("message_id"):
        await relay.app.in_background(record_links, relay.db, ticket_id=ticket.id, interaction_id=row.interaction_id,
                                      direction="inbound", slack_channel=channel, slack_ts=ts,
                                      chat_id=telegram["chat_id"], messages=[(telegram["message_id"], "text")])
    await upload_customer_media(relay, ticket, channel, thread_ts, payload)
    return ts


async def after_thread_opened(relay, ticket_id: int, channel: str, thread_ts: str, row: InboxOutbox,
                              payload: dict) -> None:
    """The thread was just opened with the ticket's card (which shows the first message): its file follows."""
    telegram = payload.get("telegram") or {}
    if telegram.get("message_id"):
        await relay.app.in_background(record_links, relay.db, ticket_id=ticket_id, interaction_id=row.interaction_id,
                                      direction="inbound", slack_channel=channel, slack_ts=thread_ts,
                                      chat_id=telegram["chat_id"], messages=[(telegram["message_id"], "card")])
    await upload_customer_media(relay, None, channel, thread_ts, payload, ticket_id=ticket_id)


async def upload_customer_media(relay, ticket: Ticket | None, channel: str, thread_ts: str, payload: dict,
                                ticket_id: int | None = None) -> None:
    """Fetches the customer's file from Telegram and uploads it into the thread; says so when it cannot."""
    media = payload.get("media")
    if not media:
        return
    team = relay.app.engine.ports.team_inbox
    name = media.get("name") or "file"
    size = media.get("size")
    what = media.get("label") or media.get("kind") or "file"
    if size and size > TELEGRAM_DOWNLOAD_LIMIT:
        await team.post_blocks(
            channel, thread_ts,
            f"⚠️ The customer's {what} “{formatting.escape_mrkdwn(name)}” ({human_size(size)}) is larger than "
            "the 20 MB Telegram lets bots download, so it is not shown here. Ask them to send it another "
            "way (a link, or a smaller file).")
        return
    try:
        data = await relay.telegram.download_media(media)
    except Exception as exc:  # noqa: BLE001 - any failure is told in the thread, the message itself is relayed
        log.warning("inbox relay: could not fetch the customer's %s %s: %r", what, media.get("file_id"), exc)
        await team.post_blocks(channel, thread_ts,
                               f"⚠️ The customer's {what} “{formatting.escape_mrkdwn(name)}” could not be "
                               f"fetched from Telegram ({formatting.escape_mrkdwn(str(exc))[:200]}).")
        return
    try:
        await team.upload(channel, thread_ts, bytes(data), name)
    except Exception as exc:  # noqa: BLE001 - the message is already in the thread: say so, do not post it twice
        log.warning("inbox relay: uploading the customer's %s into %s failed: %r", what, channel, exc)
        await team.post_blocks(channel, thread_ts,
                               f"⚠️ The customer's {what} “{formatting.escape_mrkdwn(name)}” "
                               f"({human_size(len(data))}) could not be uploaded here "
                               f"({formatting.escape_mrkdwn(str(exc))[:200]}).")
