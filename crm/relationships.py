"""Relationships between customers (`/crm link`; bulk loads go through crm/bulk_import.py)."""
from __future__ import annotations

from sqlmodel import Session, select

from crm.models import Customer, Relationship, Staff


def link_customers(session: Session, *, source: Customer, target: Customer, kind: str, strength: float,
                   created_by: Staff) -> tuple[Relationship, bool]:
    """``source`` —kind→ ``target`` at ``strength``: the existing link of that kind is updated, else
    one is made. Returns the link and whether it is new."""
    row = session.exec(select(Relationship).where(Relationship.from_customer_id == source.id,
                                                  Relationship.to_customer_id == target.id,
                                                  Relationship.kind == kind)).first()
    created = row is None
    if created:
        row = Relationship(from_customer_id=source.id, to_customer_id=target.id, kind=kind,
                           created_by_id=created_by.id)
    row.strength = strength
    session.add(row)
    return row, created
