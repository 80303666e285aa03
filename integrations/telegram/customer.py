"""A customer's side of the Telegram chat: `/start`, `/help`, `/status`, `/language`, `/stop`,
`/forgetme`, and messages to the company.

Customers see nothing from the CRM but their own ticket's status: every word they get comes
from ``crm/inbox/texts.py``, and `/crm …` or any unknown command gets a polite note only.

Each update is handled in one transaction that also claims its update id, so a redelivered
update changes nothing; replies are queued in the inbox outbox in that same transaction and
sent after commit by the relay.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone

from telegram import Message, Update

from bot.replies import strip_mentions
from crm.erasure import erased_since
from crm.inbox import batch as inbound_batch
from crm.events import claim_event_in
from crm.inbox import binding, erasure, outbox, ratings, tickets
from crm.inbox.texts import say
from crm.models import Staff, Ticket
from integrations.inbox_live import file_line
from integrations.telegram.media import (context_lines, describe_other, describe_venue, forwarded_from,
                                         inbound_details, media_of)
from integrations.telegram.updates import is_int64

COMMANDS = ("start", "help", "status", "language", "stop", "forgetme")
# a message with only these fields is plain text (CustomerChat.plain_text_message); any other field, PTB reads
PLAIN_MESSAGE_KEYS = frozenset(("message_id", "from", "chat", "date", "text", "entities"))
PLAIN_ENTITY_KEYS = frozenset(("type", "offset", "length", "url", "language", "custom_emoji_id"))


@dataclass
class Said:
    """One customer message, copied out of PTB's objects for the worker thread."""

    update_id: int
    person: binding.ChatPerson
    message_id: int
    date: datetime
    text: str = ""  # what is stored: the text, a caption, or a description of the attachment
    command: str | None = None
    args: list[str] = field(default_factory=list)
    own_phone: str | None = None  # the customer's own number, shared with the contact button
    edited: bool = False
    details: dict = field(default_factory=dict)  # what the team's thread shows (media.inbound_details)


def describe(message: Message) -> str:
    """The stored text of a message: where it came from (forward, reply), text or caption, and
    what was attached (name, type and size of a file)."""
    context = context_lines(message)
    body = _describe_body(message)
    return "\n".join(context + [body]) if context else body


def _describe_body(message: Message) -> str:
    caption = message.text or message.caption or ""
    venue = describe_venue(message) or describe_other(message)
    if venue:
        return venue + (f"\n{caption}" if caption else "")
    media = media_of(message)
    if media is not None and media["kind"] not in ("sticker",):
        return f"[{media['label']}] " + file_line(media["name"], media["mimetype"], media["size"]) \
            + (f"\n{caption}" if caption else "")
    if message.contact is not None:
        c = message.contact
        name = " ".join(p for p in (c.first_name, c.last_name) if p)
        return f"[contact] {name} {c.phone_number}".strip() + (f"\n{caption}" if caption else "")
    kinds = [("photo", "photo"), ("document", "document"), ("video", "video"), ("voice", "voice message"),
             ("audio", "audio"), ("sticker", "sticker"), ("animation", "animation"), ("video_note", "video note"),
             ("location", "location")]
    for attr, label in kinds:
        value = getattr(message, attr, None)
        if value:
            if attr == "document" and value.file_name:
                label = f"document: {value.file_name}"
            elif attr == "sticker" and value.emoji:
                label = f"sticker {value.emoji}"
            elif attr == "location":
                label = f"location {value.latitude:.5f},{value.longitude:.5f}"
            return f"[{label}]" + (f" {caption}" if caption else "")
    return caption


def person_of(update: Update) -> binding.ChatPerson:
    user, chat = update.effective_user, update.effective_chat
    # names from outside cannot carry our neutral mention element (bot.replies.mention)
    return binding.ChatPerson(chat_id=chat.id, first_name=strip_mentions(user.first_name or ""),
                              last_name=strip_mentions(user.last_name or ""), username=user.username,
                              language_code=user.language_code)


class CustomerChat:
    def __init__(self, adapter):
        self.adapter = adapter
        self.db = adapter.db

    @property
    def relay_to_team(self) -> bool:
        return self.adapter.app.engine.ports.team_inbox is not None

    # ------------------------------------------------------------ async entry points

    def said_of(self, update: Update) -> Said:
        """What a customer's message says, copied out of PTB's objects."""
        message = update.effective_message
        said = Said(update_id=update.update_id, person=person_of(update), message_id=message.message_id,
                    date=message.date or self.adapter.app.engine.clock(), text=strip_mentions(describe(message)),
                    edited=update.edited_message is not None, details=inbound_details(message))
        # a forwarded "/start" is something the customer is showing us, not a command
        if message.text and message.text.startswith("/") and not said.edited and forwarded_from(message) is None:
            head, *args = message.text[1:].split()
            said.command = head.split("@", 1)[0].lower() if head else ""
            said.args = args
        if message.contact is not None and message.contact.user_id == message.from_user.id:
            said.own_phone = message.contact.phone_number
        return said

    def plain_message(self, update: Update, row_id: int) -> inbound_batch.Message | None:
        """An ordinary message (no command, edit or shared phone) for the batched store, else None."""
        if update.message is None or update.effective_user is None:
            return None
        said = self.said_of(update)
        if said.command is not None or said.own_phone or said.edited:
            return None
        return inbound_batch.Message(row_id=row_id, update_id=said.update_id, chat_id=said.person.chat_id,
                                     user_id=update.effective_user.id, message_id=said.message_id, date=said.date,
                                     text=said.text, details=said.details)

    @staticmethod
    def plain_text_message(data: dict, row_id: int) -> inbound_batch.Message | None:
        """``plain_message`` read from the update's JSON itself, for the bulk of the traffic: a private chat's
        new text message with nothing else in it (no attachment, forward, reply, command; entities of the
        plain kinds only). None for anything else, which PTB parses and ``plain_message`` reads (PTB stays
        the parser of record). Issue 17: PTB's ``Update.de_json`` and the describe/details readers were
        ~0.15 ms of an update's ~1 ms. The fields read, and how, are PTB's: tests/test_telegram_plain.py
        checks both readers give the same Message on every recorded payload and their variants."""
        if len(data) != 2 or type(data.get("message")) is not dict:
            return None
        message = data["message"]
        if not PLAIN_MESSAGE_KEYS.issuperset(message):
            return None
        user, chat, text = message.get("from"), message.get("chat"), message.get("text")
        if (type(user) is not dict or type(chat) is not dict or type(text) is not str or text.startswith("/")
                or chat.get("type") != "private" or type(user.get("is_bot")) is not bool
                or type(user.get("first_name")) is not str):
            return None
        update_id, chat_id, user_id = data["update_id"], chat.get("id"), user.get("id")
        message_id, date = message.get("message_id"), message.get("date")
        if not all(is_int64(v) for v in (update_id, chat_id, user_id, message_id, date)):
            return None
        try:
            when = datetime.fromtimestamp(date, tz=timezone.utc)  # PTB's from_timestamp, no bot defaults
        except (OverflowError, OSError, ValueError):
            return None
        entities = message.get("entities")
        if entities is None:
            entities = ()
        elif type(entities) is not list:
            return None
        plain = []
        for entity in entities:  # as PTB's MessageEntity.to_dict gives them back: keys sorted
            if (type(entity) is not dict or not PLAIN_ENTITY_KEYS.issuperset(entity) or type(entity.get("type")) is not str
                    or type(entity.get("offset")) is not int or type(entity.get("length")) is not int
                    or any(type(entity[k]) is not str for k in entity.keys() - {"offset", "length"})):
                return None
            plain.append({k: entity[k] for k in sorted(entity)})
        details = {"raw_text": text, "entities": plain, "context": [], "media": None,
                   "telegram": {"chat_id": chat_id, "message_id": message_id}}
        return inbound_batch.Message(row_id=row_id, update_id=update_id, chat_id=chat_id, user_id=user_id,
                                     message_id=message_id, date=when, text=strip_mentions(text), details=details)

    async def on_message(self, update: Update) -> None:
        said = self.said_of(update)
        # one transaction shared with the other updates arriving meanwhile (see group_commit)
        if await self.adapter.ingest.run(self._handle_in, said):
            self.adapter.wake()

    async def on_callback(self, update: Update) -> None:
        query = update.callback_query
        sent_at = getattr(query.message, "date", None)  # when the message with the button was sent
        answer = await asyncio.to_thread(self._callback, update.update_id, person_of(update), query.data or "",
                                         sent_at)
        try:
            await query.answer(answer)
        except Exception:  # an expired query cannot be answered; the work is done anyway
            pass
        self.adapter.wake()

    async def on_membership(self, update: Update) -> None:
        status = update.my_chat_member.new_chat_member.status
        blocked = status in ("kicked", "left")
        await asyncio.to_thread(self._membership, update.update_id, update.effective_chat.id, blocked)
        self.adapter.wake()

    # ------------------------------------------------------------ one transaction per update

    def _handle(self, said: Said) -> bool:
        """Stores the update in a transaction of its own; True when it queued something to send."""
        with self.db.write_session(urgent=True) as s:  # Telegram waits on this for its 200
            return self._handle_in(s, said)

    def _handle_in(self, s, said: Said) -> bool:
        """Stores the update in the caller's transaction (claim and work commit together)."""
        if not claim_event_in(s, "telegram", f"update:{said.update_id}"):
            return False
        if erased_since(s, "telegram", said.person.chat_id, said.date):
            return False  # an edit (or late copy) of a message sent before the customer was erased
        if said.command is not None:
            self._command(s, said)
        elif said.own_phone:
            self._shared_phone(s, said)
        else:
            self._message(s, said)
        return outbox.queued_anything(s)

    def _reply(self, session, chat_id: int, key_or_text: str, lang: str, *, customer=None, literal: bool = False,
               keyboard: str | None = None, **values) -> None:
        text = key_or_text if literal else say(key_or_text, lang, **values)
        outbox.enqueue(session, "telegram", "reply", {"text": text, "keyboard": keyboard, "lang": lang},
                       customer=customer, chat_id=chat_id)

    def _command(self, s, said: Said) -> None:
        person, chat = said.person, said.person.chat_id
        customer = binding.customer_for_chat(s, chat)
        lang = customer.language if customer else person.language
        name = said.command
        if name == "start":
            token = said.args[0] if said.args else None
            if token:
                bound = binding.bind_by_token(s, person, token, self.adapter.app.engine.clock())
                if bound is not None:
                    self._reply(s, chat, "bound_by_invite", bound.language, customer=bound, keyboard="remove",
                                name=bound.name, company=self.adapter.bot_name)
                    return
                self._reply(s, chat, "invite_invalid", lang, customer=customer)
            if customer is not None and binding.LEAD_TAG not in customer.tags.split(","):
                self._reply(s, chat, "welcome_back", lang, customer=customer, name=person.first_name or customer.name)
                return
            customer, _ = binding.ensure_customer(s, person)
            self._reply(s, chat, "welcome", customer.language, customer=customer, keyboard="contact",
                        name=person.first_name or person.display_name, company=self.adapter.bot_name)
        elif name == "help":
            self._reply(s, chat, "help", lang, customer=customer)
        elif name == "status":
            self._status(s, chat, customer, lang)
        elif name == "language":
            choice = said.args[0].lower() if said.args else ""
            choice = {"zh": "zh", "中文": "zh", "cn": "zh", "chinese": "zh", "en": "en", "english": "en"}.get(choice)
            if choice is None:
                self._reply(s, chat, "language_usage", lang, customer=customer, keyboard="language")
                return
            customer, _ = binding.ensure_customer(s, person)
            binding.set_language(s, customer, choice)
            self._reply(s, chat, "language_set", choice, customer=customer)
        elif name == "stop":
            customer, _ = binding.ensure_customer(s, person)
            binding.opt_out_of_marketing(s, customer)
            self._reply(s, chat, "stopped", lang, customer=customer)
        elif name == "forgetme":
            confirmed = bool(said.args) and said.args[0].lower() in ("confirm", "确认")
            self._forget(s, chat, customer, lang, confirmed)
        else:
            # `/crm show globex` and friends: staff commands never run for customers
            self._reply(s, chat, "not_for_customers", lang, customer=customer)

    def _status(self, s, chat: int, customer, lang: str) -> None:
        ticket = tickets.open_ticket(s, customer) if customer else None
        if ticket is not None:
            handler = s.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
            who = say("status_handler", lang, name=handler.name) if handler else say("status_unassigned", lang)
            self._reply(s, chat, "status_open", lang, customer=customer, ticket=ticket.id, who=who)
            return
        latest = tickets.latest_ticket(s, customer) if customer else None
        if latest is not None:
            self._reply(s, chat, "status_resolved", lang, customer=customer, ticket=latest.id)
        else:
            self._reply(s, chat, "status_none", lang, customer=customer)

    def _forget(self, s, chat: int, customer, lang: str, confirmed: bool) -> None:
        if customer is None:
            self._reply(s, chat, "forget_nothing", lang)
        elif not confirmed:
            self._reply(s, chat, "forget_ask", lang, customer=customer, keyboard="forget")
        else:
            erasure.forget(s, customer, self.adapter.app.engine.clock())
            self._reply(s, chat, "forget_done", lang, keyboard="remove")

    def _shared_phone(self, s, said: Said) -> None:
        customer, found = binding.bind_by_phone(s, said.person, said.own_phone)
        if found:
            self._reply(s, said.person.chat_id, "bound_by_phone", customer.language, customer=customer,
                        keyboard="remove", name=customer.name)
        else:
            self._reply(s, said.person.chat_id, "phone_saved", customer.language, customer=customer,
                        keyboard="remove")
        self._store(s, customer, said)

    def _message(self, s, said: Said) -> None:
        customer, _ = binding.ensure_customer(s, said.person)
        body = said.text.strip()
        if body in ("1", "2", "3", "4", "5") and not said.edited:
            ticket = ratings.pending_rating(s, customer)
            if ticket is not None and ratings.record_rating(s, customer, ticket, int(body)):
                self._reply(s, said.person.chat_id, "rating_thanks", customer.language, customer=customer,
                            rating=body)
                return
        if not body:
            self._reply(s, said.person.chat_id, "unsupported", customer.language, customer=customer)
            return
        self._store(s, customer, said)

    def _store(self, s, customer, said: Said) -> None:
        message_key = f"{said.message_id}:edit:{said.update_id}" if said.edited else said.message_id
        text = f"(edited) {said.text}" if said.edited else said.text
        stored = tickets.store_inbound(s, customer, chat_id=said.person.chat_id, message_id=message_key, text=text,
                                       occurred_at=said.date, settings=self.adapter.settings,
                                       relay=self.relay_to_team and not said.edited, details=said.details)
        if said.edited and self.relay_to_team and not stored.duplicate and stored.ticket is not None:
            # the relayed Slack message is updated (chat.update) and marked edited; the edit is its own interaction
            details = dict(said.details, media=None)
            outbox.to_thread(s, stored.ticket, "edit", said.text, interaction=stored.interaction,
                             author=customer.name, **details)

    def _callback(self, update_id: int, person: binding.ChatPerson, data: str, sent_at=None) -> str | None:
        with self.db.write_session(urgent=True) as s:  # Telegram waits on this for its 200
            if not claim_event_in(s, "telegram", f"update:{update_id}"):
                return None
            if sent_at is not None and erased_since(s, "telegram", person.chat_id, sent_at):
                return None  # a button under a message from before the erasure: it brings nothing back
            customer = binding.customer_for_chat(s, person.chat_id)
            lang = customer.language if customer else person.language
            kind, _, rest = data.partition(":")
            if kind == "rate" and customer is not None:
                ticket_id, _, value = rest.partition(":")
                ticket = s.get(Ticket, int(ticket_id)) if ticket_id.isdigit() else None
                if ticket is not None and value.isdigit() and ratings.record_rating(s, customer, ticket, int(value)):
                    self._reply(s, person.chat_id, "rating_thanks", lang, customer=customer, rating=value)
                    return "👍"
                return say("rating_stale", lang)
            if kind == "lang" and rest in ("en", "zh"):
                customer, _ = binding.ensure_customer(s, person)
                binding.set_language(s, customer, rest)
                self._reply(s, person.chat_id, "language_set", rest, customer=customer)
                return None
            if kind == "forget" and rest == "yes":
                self._forget(s, person.chat_id, customer, lang, confirmed=True)
                return None
            return None

    def _membership(self, update_id: int, chat_id: int, blocked: bool) -> None:
        with self.db.write_session(urgent=True) as s:  # Telegram waits on this for its 200
            if claim_event_in(s, "telegram", f"update:{update_id}"):
                binding.set_blocked(s, chat_id, blocked)
