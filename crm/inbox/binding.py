"""Which customer a chat belongs to: binding by invite or phone, leads made from chats and merged away.

A customer chat (Telegram today) is bound to one customer record: by an invite token, by
the phone number the customer shares, or to a new lead named after the chat. A lead the
inbox made is merged into the real record once the customer shows who they are. The
chat's own settings (language, marketing opt-out, bot blocked) live here too.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm import audit
from crm.customers import create_customer, phone_key
from crm.inbox.outbox import to_thread
from crm.inbox.texts import language_from_code
from crm.inbox.tickets import open_ticket
from crm.models import (CampaignRecipient, Customer, CustomerInsight, Deal, InboxOutbox, Interaction, InviteToken,
                        RecommendationFeedback, Relationship, Staff, Task, Ticket)
from crm.search import refresh_search_text

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


def create_invite(session: Session, *, customer: Customer, created_by: Staff, now: datetime,
                  valid_for: timedelta) -> str:
    """A one-use token for the customer's Telegram deep link (``bind_by_token`` redeems it)."""
    token = secrets.token_urlsafe(18)  # 24 url-safe characters; Telegram allows up to 64
    session.add(InviteToken(token=token, customer_id=customer.id, created_by_id=created_by.id,
                            expires_at=now + valid_for))
    return token


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
