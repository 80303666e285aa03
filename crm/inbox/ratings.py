"""The customer's 1–5 rating of a resolved ticket: asked once, stored once."""
from __future__ import annotations

from sqlmodel import Session

from crm.inbox.outbox import to_thread
from crm.inbox.tickets import latest_ticket
from crm.models import Customer, Ticket


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
