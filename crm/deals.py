"""Deals: every write to a deal, and what winning one means for its customer.

`/crm deal` and a confirmed staff note (handlers/deal.py, handlers/note.py) both come here.
A deal closes (``closed_at``) the first time it reaches won or lost; winning one makes a
lead or prospect an active customer.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from crm.models import OPEN_DEAL_STAGES, Customer, Deal, Staff

CLOSED_STAGES = ("won", "lost")


def open_deals_of(session: Session, customer: Customer) -> list[Deal]:
    """The customer's open deals, newest first."""
    return list(session.exec(select(Deal).where(Deal.customer_id == customer.id, col(Deal.stage).in_(OPEN_DEAL_STAGES))
                             .order_by(col(Deal.created_at).desc())).all())


def open_deal(session: Session, *, customer: Customer, opened_by: Staff, now: datetime, amount: float,
              currency: str, stage: str | None = None, title: str | None = None,
              expected_close: date | None = None) -> Deal:
    """A new deal, a lead unless ``stage`` says otherwise, owned by the customer's owner (else by
    whoever opened it)."""
    deal = Deal(customer_id=customer.id, owner_id=customer.owner_id or opened_by.id, stage="lead",
                created_at=now, stage_changed_at=now)
    return change_deal(session, deal, customer=customer, now=now, amount=amount, currency=currency, stage=stage,
                       title=title, expected_close=expected_close)


def change_deal(session: Session, deal: Deal, *, customer: Customer, now: datetime, amount: float | None = None,
                currency: str | None = None, stage: str | None = None, title: str | None = None,
                expected_close: date | None = None) -> Deal:
    """Applies what was given (None leaves a field as it is): a new amount keeps the deal's currency
    unless another is named; a new stage is stamped; reaching won or lost closes the deal."""
    if amount is not None:
        deal.amount = amount
        deal.currency = currency or deal.currency
    elif currency is not None:
        deal.currency = currency
    if stage and stage != deal.stage:
        deal.stage, deal.stage_changed_at = stage, now
    if deal.stage in CLOSED_STAGES and deal.closed_at is None:
        deal.closed_at = now
        if deal.stage == "won" and customer.stage in ("lead", "prospect"):
            customer.stage = "active"
            session.add(customer)
    if title:
        deal.title = title[:200]
    if expected_close:
        deal.expected_close = expected_close
    session.add(deal)
    session.flush()
    return deal
