"""The customer's own erasure request from the chat (/forgetme)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from crm.inbox.binding import CUSTOMER_ACTOR
from crm.inbox.outbox import to_thread
from crm.inbox.tickets import OPEN_STATUSES
from crm.models import Customer, InboxOutbox, Ticket
from crm.privacy import forget_customer


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
