"""The inbox's outbox: what is owed to a customer's chat or the team's thread, queued with its cause.

Anything the inbox must send (a relay into the team's thread, a reply to the customer, a
rating request) is written to ``inbox_outbox`` in the same transaction as its cause;
``integrations/inbox_relay.py`` delivers it after commit. Nothing here imports a chat SDK.
"""
from __future__ import annotations

import json
from typing import Callable

from sqlalchemy import event
from sqlmodel import Session

from crm.models import Customer, InboxOutbox, Interaction, Ticket


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
