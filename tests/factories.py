"""Factories for test data: each makes one valid row with sensible defaults; name only what
the test is about. They write through the same crm functions the product uses where one
exists (``create_customer``, ``log_interaction``), so a row is shaped as in production.

    with db.session() as s:
        rep = factories.staff(s, role="rep")
        acme = factories.customer(s, owner=rep, tier="vip")
        factories.interaction(s, acme, staff=rep, days_ago=3)
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from crm.customers import create_customer
from crm.interactions import log_interaction
from crm.models import Customer, Deal, Interaction, Staff, Task, Ticket

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # the ``clock`` fixture's start
_seq = itertools.count(1)


def staff(s: Session, *, name: str | None = None, role: str = "rep", manager: Staff | None = None,
          slack_user_id: str | None = "auto", **fields) -> Staff:
    """A colleague; a unique name, email and Slack id unless given (``slack_user_id=None`` for none)."""
    n = next(_seq)
    name = name or f"Staff {n}"
    if slack_user_id == "auto":
        slack_user_id = f"UFACT{n:04d}"
    fields.setdefault("email", f"staff{n}@crm.example")
    fields.setdefault("timezone", "UTC")
    row = Staff(name=name, role=role, manager_id=manager.id if manager else None, slack_user_id=slack_user_id,
                **fields)
    s.add(row)
    s.flush()
    return row


def customer(s: Session, name: str | None = None, *, owner: Staff | None = None, **fields) -> Customer:
    """A customer through ``crm.customers.create_customer`` (search index, company, phone key)."""
    n = next(_seq)
    return create_customer(s, name or f"Customer {n}", owner=owner, **fields)


def interaction(s: Session, customer: Customer, *, staff: Staff | None = None, kind: str = "call",
                text: str = "talked", days_ago: float = 0, at: datetime | None = None,
                direction: str = "outbound", channel: str = "slack") -> Interaction:
    """An interaction through ``crm.interactions.log_interaction`` (updates last contact)."""
    when = at or NOW - timedelta(days=days_ago)
    return log_interaction(s, customer, kind=kind, text=text, staff=staff, occurred_at=when, channel=channel,
                           direction=direction)


def task(s: Session, *, owner: Staff, customer: Customer | None = None, title: str = "follow up",
         due_in: timedelta = timedelta(days=1), **fields) -> Task:
    row = Task(owner_id=owner.id, created_by_id=owner.id, customer_id=customer.id if customer else None,
               title=title, due_at=fields.pop("due_at", NOW + due_in), **fields)
    s.add(row)
    s.flush()
    return row


def deal(s: Session, customer: Customer, *, owner: Staff | None = None, amount: float = 1000,
         stage: str = "proposal", **fields) -> Deal:
    row = Deal(customer_id=customer.id, owner_id=(owner or _owner_of(s, customer)).id, amount=amount, stage=stage,
               title=fields.pop("title", "Annual renewal"), **fields)
    s.add(row)
    s.flush()
    return row


def _owner_of(s: Session, customer: Customer) -> Staff:
    return s.get(Staff, customer.owner_id)


def ticket(s: Session, customer: Customer, *, status: str = "open", subject: str = "where is my order",
           **fields) -> Ticket:
    """A customer conversation (as the Telegram inbox opens one)."""
    row = Ticket(customer_id=customer.id, status=status, subject=subject, opened_at=fields.pop("opened_at", NOW),
                 **fields)
    s.add(row)
    s.flush()
    return row
