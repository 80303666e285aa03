"""Customer tickets: each inbound message stored once on the customer's open ticket, and staff's work on it.

Every inbound message is stored once (keyed by the platform's chat and message ids) and
opens or continues the customer's ticket. Staff assign, resolve, reopen, answer and write
internal notes; whatever that owes the customer or the team's thread is queued in the
same unit of work (``crm.inbox.outbox``).

Every function here works inside the caller's session: one unit of work, committed or not
as a whole. Nothing here imports a chat SDK.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm.inbox.hours import out_of_office_text, outside_business_hours
from crm.inbox.outbox import to_customer, to_thread
from crm.inbox.texts import say
from crm.interactions import log_interaction
from crm.message_reading import read_inbound
from crm.models import Customer, Interaction, Staff, Ticket

OPEN_STATUSES = ("open", "pending")


@dataclass
class Inbound:
    """What storing one inbound message did."""

    duplicate: bool
    customer: Customer | None = None
    ticket: Ticket | None = None
    interaction: Interaction | None = None
    new_ticket: bool = False
    out_of_office: bool = False


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
    """Closes the ticket, tells the customer and asks them for a 1–5 rating; an unassigned ticket
    is then ``staff``'s."""
    if ticket.status == "resolved":
        return False
    customer = session.get(Customer, ticket.customer_id)
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
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
