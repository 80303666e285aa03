"""The customer inbox, platform-neutral: chats bound to customers, tickets, and what is owed to whom.

A customer chat (Telegram today) is bound to one customer record: by an invite token, by
the phone number the customer shares, or to a new lead named after the chat. Every inbound
message is stored once (keyed by the platform's chat and message ids) and opens or continues
the customer's ticket. Anything the inbox must send afterwards (a relay into the team's
thread, a reply to the customer, a rating request) is written to ``inbox_outbox`` in the
same transaction as its cause; ``integrations/inbox_relay.py`` delivers it after commit.

Every function here works inside the caller's session: one unit of work, committed or not
as a whole. Nothing here imports a chat SDK.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable

from sqlalchemy import event, update
from sqlmodel import Session, col, select

from crm import audit
from crm.customers import create_customer, phone_key
from crm.inbox_texts import DAY_NAMES, WEEKDAYS, language_from_code, say
from crm.interactions import log_interaction
from crm.message_reading import read_inbound
from crm.models import (CampaignRecipient, Customer, CustomerInsight, Deal, InboxOutbox, Interaction, InviteToken,
                        RecommendationFeedback, Relationship, Staff, Task, Ticket)
from crm.privacy import forget_customer
from crm.search import refresh_search_text

OPEN_STATUSES = ("open", "pending")
LEAD_TAG = "telegram-lead"  # a lead the inbox created from a chat; merged away when the customer shows who they are
CUSTOMER_ACTOR = "customer (Telegram)"


@dataclass
class ChatPerson:
    """Who writes from a chat, as the platform describes them."""

    chat_id: int
    first_name: str = ""
    last_name: str = ""
    username: str | None = None
    language_code: str | None = None

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p).strip()
        return name or (f"@{self.username}" if self.username else f"Telegram user {self.chat_id}")

    @property
    def language(self) -> str:
        return language_from_code(self.language_code)


@dataclass
class Inbound:
    """What storing one inbound message did."""

    duplicate: bool
    customer: Customer | None = None
    ticket: Ticket | None = None
    interaction: Interaction | None = None
    new_ticket: bool = False
    out_of_office: bool = False


# ---------------------------------------------------------------- after commit


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once this session's transaction commits (e.g. wake the outbox sender)."""
    event.listen(session, "after_commit", lambda _s: callback(), once=True)


# ---------------------------------------------------------------- outbox


def enqueue(session: Session, target: str, kind: str, payload: dict, *, ticket: Ticket | None = None,
            customer: Customer | None = None, chat_id: int | None = None,
            interaction: Interaction | None = None) -> InboxOutbox:
    row = InboxOutbox(target=target, kind=kind, payload=json.dumps(payload, ensure_ascii=False),
                      ticket_id=ticket.id if ticket else None, customer_id=customer.id if customer else None,
                      chat_id=chat_id, interaction_id=interaction.id if interaction else None)
    session.add(row)
    session.info["outbox_queued"] = True  # the caller wakes the sender after commit
    return row


def queued_anything(session: Session) -> bool:
    """Whether this unit of work queued a send (so the sender should be woken after commit)."""
    return bool(session.info.get("outbox_queued"))


def to_customer(session: Session, customer: Customer, kind: str, text: str, *, ticket: Ticket | None = None,
                interaction: Interaction | None = None, **extra) -> InboxOutbox | None:
    """A message for the customer's chat; None when the customer has no chat to reach."""
    if customer.telegram_chat_id is None:
        return None
    return enqueue(session, "telegram", kind, {"text": text, **extra}, ticket=ticket, customer=customer,
                   chat_id=customer.telegram_chat_id, interaction=interaction)


def to_thread(session: Session, ticket: Ticket, kind: str, text: str, *, interaction: Interaction | None = None,
              **extra) -> InboxOutbox:
    """A line in the ticket's team thread (the relay opens the thread with the first one)."""
    return enqueue(session, "slack", kind, {"text": text, **extra}, ticket=ticket,
                   customer=session.get(Customer, ticket.customer_id), interaction=interaction)


# ---------------------------------------------------------------- binding chats to customers


def customer_for_chat(session: Session, chat_id: int) -> Customer | None:
    return session.exec(select(Customer).where(Customer.telegram_chat_id == chat_id)).first()


def _bind(session: Session, customer: Customer, person: ChatPerson, *, how: str) -> None:
    previous = customer_for_chat(session, person.chat_id)
    if previous is not None and previous.id != customer.id:
        _release_chat(session, previous, into=customer)
        session.flush()
    customer.telegram_chat_id = person.chat_id
    customer.telegram_username = person.username or customer.telegram_username
    customer.language = person.language
    customer.telegram_blocked = False
    session.add(customer)
    audit.record(session, "telegram.bind", actor_label=CUSTOMER_ACTOR, platform="telegram",
                 customer_id=customer.id, method=how)
    session.flush()


def _release_chat(session: Session, lead: Customer, *, into: Customer) -> None:
    """The chat moves to ``into``; a lead the inbox made from this chat is merged into it."""
    lead.telegram_chat_id = None
    session.add(lead)
    session.flush()
    if LEAD_TAG in lead.tags.split(",") and not _has_own_records(session, lead):
        merge_lead(session, lead, into)


def _has_own_records(session: Session, customer: Customer) -> bool:
    """Deals or follow-ups mean staff worked on the lead: keep it as its own record."""
    return bool(session.exec(select(Deal.id).where(Deal.customer_id == customer.id).limit(1)).first()
                or session.exec(select(Task.id).where(Task.customer_id == customer.id).limit(1)).first())


def merge_lead(session: Session, lead: Customer, into: Customer) -> None:
    """Moves an inbox-made lead's conversation (messages, tickets, queued sends) to the real record."""
    for model in (Interaction, Ticket, InboxOutbox):
        session.exec(update(model).where(model.customer_id == lead.id).values(customer_id=into.id))
    for model in (InviteToken, CustomerInsight, RecommendationFeedback, CampaignRecipient):
        for row in session.exec(select(model).where(model.customer_id == lead.id)).all():
            session.delete(row)
    for rel in session.exec(select(Relationship).where(
            (Relationship.from_customer_id == lead.id) | (Relationship.to_customer_id == lead.id))).all():
        session.delete(rel)
    if lead.last_contact_at and (into.last_contact_at is None or lead.last_contact_at > into.last_contact_at):
        into.last_contact_at = lead.last_contact_at
    audit.record(session, "customer.merge", actor_label=CUSTOMER_ACTOR, platform="telegram",
                 customer_id=into.id, merged_lead=lead.id)
    session.flush()
    session.delete(lead)
    session.flush()


def ensure_customer(session: Session, person: ChatPerson) -> tuple[Customer, bool]:
    """The chat's customer; a new lead named after the chat when it has none yet."""
    customer = customer_for_chat(session, person.chat_id)
    if customer is not None:
        return customer, False
    customer = create_customer(session, person.display_name, stage="lead", tags=LEAD_TAG,
                               language=person.language, telegram_chat_id=person.chat_id,
                               telegram_username=person.username)
    audit.record(session, "customer.create", actor_label=CUSTOMER_ACTOR, platform="telegram",
                 customer_id=customer.id, source="telegram chat")
    return customer, True


def bind_by_token(session: Session, person: ChatPerson, token: str, now: datetime) -> Customer | None:
    """Binds the chat to the customer a staff member invited; None for an unknown, used or expired token."""
    invite = session.get(InviteToken, token[:64]) if token else None
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    customer = session.get(Customer, invite.customer_id)
    if customer is None or customer.forgotten_at is not None:
        return None
    invite.used_at = now
    session.add(invite)
    if customer.telegram_chat_id not in (None, person.chat_id):
        # the invite was made for this customer on purpose: their new chat replaces the old one
        audit.record(session, "telegram.unbind", actor_label=CUSTOMER_ACTOR, platform="telegram",
                     customer_id=customer.id, reason="invite used from another chat")
    _bind(session, customer, person, how="invite")
    return customer


def bind_by_phone(session: Session, person: ChatPerson, phone: str) -> tuple[Customer, bool]:
    """The customer's own phone, shared from Telegram: binds to the one record with that number.

    Returns (the chat's customer, whether an existing record was found). Several records with
    the number, or one already bound to another chat, are not guessed at: the number is saved
    on the chat's own record and staff can merge by hand.
    """
    key = phone_key(phone)
    if key:
        matches = session.exec(select(Customer).where(Customer.phone_key == key,
                                                      col(Customer.forgotten_at).is_(None)).limit(3)).all()
        matches = [c for c in matches if LEAD_TAG not in c.tags.split(",") or c.telegram_chat_id == person.chat_id]
        if len(matches) == 1 and matches[0].telegram_chat_id in (None, person.chat_id):
            _bind(session, matches[0], person, how="phone")
            return matches[0], True
    customer, _ = ensure_customer(session, person)
    if not customer.phone:
        customer.phone, customer.phone_key = phone, key
        refresh_search_text(session, customer)
        session.add(customer)
    return customer, False


def set_language(session: Session, customer: Customer, lang: str) -> None:
    customer.language = lang
    session.add(customer)


def opt_out_of_marketing(session: Session, customer: Customer) -> None:
    customer.marketing_opt_out = True
    session.add(customer)
    audit.record(session, "customer.marketing_opt_out", actor_label=CUSTOMER_ACTOR, platform="telegram",
                 customer_id=customer.id, via="/stop")


def set_blocked(session: Session, chat_id: int, blocked: bool) -> Customer | None:
    customer = customer_for_chat(session, chat_id)
    if customer is not None and customer.telegram_blocked != blocked:
        customer.telegram_blocked = blocked
        session.add(customer)
        ticket = open_ticket(session, customer)
        if ticket is not None and blocked:
            to_thread(session, ticket, "note", "⛔ The customer has blocked the bot; replies will not be delivered.")
    return customer


# ---------------------------------------------------------------- tickets


def open_ticket(session: Session, customer: Customer) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.customer_id == customer.id, col(Ticket.status).in_(OPEN_STATUSES))
                        .order_by(col(Ticket.id).desc())).first()


def latest_ticket(session: Session, customer: Customer) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.customer_id == customer.id)
                        .order_by(col(Ticket.id).desc())).first()


def ticket_for_thread(session: Session, channel: str, thread_ts: str) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.slack_channel == channel,
                                             Ticket.slack_thread_ts == thread_ts)).first()


def store_inbound(session: Session, customer: Customer, *, chat_id: int, message_id: int | str, text: str,
                  occurred_at: datetime, settings, relay: bool, details: dict | None = None) -> Inbound:
    """One customer message, stored exactly once, on the customer's open ticket (opened if needed).

    ``details`` go to the team's thread with it: the literal text and entities, the attachment
    to fetch, forward and reply context (``integrations/telegram/media.py``)."""
    source = ("telegram", f"{chat_id}:{message_id}")
    text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL; polling updates are not filtered upstream
    seen = session.exec(select(Interaction.id).where(Interaction.source_platform == source[0],
                                                     Interaction.source_message_id == source[1])).first()
    if seen is not None:
        return Inbound(duplicate=True, customer=customer)
    ticket, new_ticket = open_ticket(session, customer), False
    if ticket is None:
        ticket = Ticket(customer_id=customer.id, status="open", subject=" ".join(text.split())[:200],
                        opened_at=occurred_at)
        session.add(ticket)
        session.flush()
        new_ticket = True
    interaction = log_interaction(session, customer, kind="message", text=text, staff=None, occurred_at=occurred_at,
                                  channel="telegram", direction="inbound", source=source, ticket_id=ticket.id)
    ticket.status = "open"
    ticket.last_inbound_at = occurred_at
    customer.telegram_blocked = False  # they are writing to the bot, so it is not blocked
    session.add_all([ticket, customer])
    if relay:
        to_thread(session, ticket, "message", text, interaction=interaction, author=customer.name, **(details or {}))
    read_inbound(session, customer, ticket, interaction, text, new_ticket=new_ticket, now=occurred_at,
                 to_thread=to_thread if relay else None)  # intent, sentiment, urgency: tags, risk, suggestions
    out_of_office = False
    if not ticket.out_of_office_sent and outside_business_hours(settings, occurred_at):
        ticket.out_of_office_sent = out_of_office = True
        to_customer(session, customer, "out_of_office", out_of_office_text(settings, customer.language),
                    ticket=ticket)
    return Inbound(False, customer, ticket, interaction, new_ticket, out_of_office)


def assign(session: Session, ticket: Ticket, staff: Staff) -> bool:
    if ticket.assignee_id == staff.id:
        return False
    ticket.assignee_id = staff.id
    session.add(ticket)
    to_thread(session, ticket, "note", f"👤 {staff.name} is handling this conversation.")
    return True


def resolve(session: Session, ticket: Ticket, staff: Staff, now: datetime) -> bool:
    """Closes the ticket, tells the customer and asks them for a 1–5 rating."""
    if ticket.status == "resolved":
        return False
    customer = session.get(Customer, ticket.customer_id)
    ticket.status = "resolved"
    ticket.resolved_at = now
    ticket.rating = None
    ticket.rating_requested_at = now if customer.telegram_chat_id else None
    session.add(ticket)
    to_thread(session, ticket, "note", f"✅ Resolved by {staff.name}."
              + (" The customer was asked for a 1–5 rating." if customer.telegram_chat_id else ""))
    to_customer(session, customer, "rating", say("resolved_rate", customer.language, ticket=ticket.id),
                ticket=ticket, ticket_id=ticket.id, keyboard="rating", lang=customer.language)
    return True


def reopen(session: Session, ticket: Ticket, staff: Staff) -> bool:
    if ticket.status in OPEN_STATUSES:
        return False
    customer = session.get(Customer, ticket.customer_id)
    newer = open_ticket(session, customer)
    if newer is not None and newer.id != ticket.id:
        raise ValueError(f"the customer already has open ticket #{newer.id}")
    ticket.status = "open"
    ticket.resolved_at = None
    ticket.rating_requested_at = None
    session.add(ticket)
    to_thread(session, ticket, "note", f"↩️ Reopened by {staff.name}.")
    return True


def pending_rating(session: Session, customer: Customer) -> Ticket | None:
    """The resolved ticket still waiting for the customer's rating, if no newer one is open."""
    ticket = latest_ticket(session, customer)
    if ticket and ticket.status == "resolved" and ticket.rating_requested_at and ticket.rating is None:
        return ticket
    return None


def record_rating(session: Session, customer: Customer, ticket: Ticket, rating: int) -> bool:
    """Stores the customer's rating once; False when the ticket is not theirs or was rated already."""
    if ticket.customer_id != customer.id or ticket.rating is not None or ticket.rating_requested_at is None:
        return False
    if not 1 <= rating <= 5:
        return False
    ticket.rating = rating
    session.add(ticket)
    to_thread(session, ticket, "note", f"⭐ The customer rated this conversation {rating}/5.")
    return True


def staff_reply(session: Session, ticket: Ticket, staff: Staff, text: str, *, event_id: str,
                now: datetime, delivery: dict | None = None) -> Interaction | None:
    """A staff answer to the customer: stored and queued together, once per event id.

    The caller claims ``event_id`` in this same session, so the claim, the outbound
    interaction and the queued send commit together or not at all.
    """
    customer = session.get(Customer, ticket.customer_id)
    interaction = log_interaction(session, customer, kind="message", text=text, staff=staff, occurred_at=now,
                                  channel="telegram", direction="outbound", source=("slack", event_id),
                                  ticket_id=ticket.id)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id  # whoever answers first owns the conversation (Chatwoot does the same)
    session.add(ticket)
    if customer.telegram_chat_id is None:
        to_thread(session, ticket, "note", "⚠️ Not delivered: this customer has no Telegram chat any more.")
    else:
        # delivery: how the relay sends it (formatted HTML, files, the Slack message it came from)
        to_customer(session, customer, "message", text, ticket=ticket, interaction=interaction,
                    **(delivery or {}))
    return interaction


def internal_note(session: Session, ticket: Ticket, staff: Staff, text: str, *, event_id: str,
                  now: datetime) -> Interaction:
    """A staff-only note on the customer's record; only active staff may write one."""
    if staff is None or not staff.active:
        raise PermissionError("internal notes are written by active staff only")
    customer = session.get(Customer, ticket.customer_id)
    return log_interaction(session, customer, kind="note", text=text, staff=staff, occurred_at=now, channel="slack",
                           direction="internal", source=("slack", event_id), ticket_id=ticket.id)


def forget(session: Session, customer: Customer, now: datetime) -> None:
    """The customer's own erasure request: tickets closed, data erased, chat unbound."""
    for ticket in session.exec(select(Ticket).where(Ticket.customer_id == customer.id,
                                                    col(Ticket.status).in_(OPEN_STATUSES))).all():
        ticket.status = "resolved"
        ticket.resolved_at = now
        session.add(ticket)
        to_thread(session, ticket, "note", "🗑 The customer erased their personal data (/forgetme); "
                                           "this conversation is closed.")
    # queued sends to the chat would reach someone who asked to be forgotten
    for row in session.exec(select(InboxOutbox).where(InboxOutbox.customer_id == customer.id,
                                                      InboxOutbox.target == "telegram",
                                                      InboxOutbox.status == "pending")).all():
        row.status, row.last_error = "failed", "customer erased their data"
        session.add(row)
    forget_customer(session, customer, actor=None, platform="telegram", actor_label=CUSTOMER_ACTOR, now=now)


# ---------------------------------------------------------------- business hours


def _hhmm(value: str) -> time:
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


def outside_business_hours(settings, moment: datetime) -> bool:
    """Whether ``moment`` falls outside BUSINESS_HOURS on BUSINESS_DAYS, in CRM_TIMEZONE."""
    local = moment.astimezone(settings.zone)
    days = settings.business_weekdays
    start, end = (_hhmm(p) for p in settings.business_hours.split("-"))
    day = WEEKDAYS[local.weekday()]
    now = local.time()
    if start <= end:
        return not (day in days and start <= now < end)
    # hours that cross midnight (22:00-06:00) belong to the day they started on
    if now >= start:
        return day not in days
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    return not (now < end and yesterday in days)


def out_of_office_text(settings, lang: str) -> str:
    days = [d for d in settings.business_weekdays if d in DAY_NAMES]
    index = 1 if lang == "zh" else 0
    label = ", ".join(DAY_NAMES[d][index] for d in days) if days else "—"
    return say("out_of_office", lang, days=label, hours=settings.business_hours, zone=settings.crm_timezone)
