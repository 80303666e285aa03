"""Small hand-built relationship stores for the insight tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crm.customers import create_customer
from crm.models import Deal, Interaction, Relationship, Staff, Ticket

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def talk(s, staff_id: int, customer_id: int, days_ago: float, *, both_ways: bool = True, text: str = "call",
         kind: str = "call", times: int = 1) -> None:
    """``times`` outbound touches (and as many replies when ``both_ways``) ``days_ago``."""
    for i in range(times):
        at = NOW - timedelta(days=days_ago + i * 0.5)
        s.add(Interaction(customer_id=customer_id, staff_id=staff_id, kind=kind, direction="outbound", text=text,
                          occurred_at=at, created_at=at))
        if both_ways:
            s.add(Interaction(customer_id=customer_id, staff_id=staff_id, kind=kind, direction="inbound",
                              text=text + " (reply)", occurred_at=at + timedelta(hours=1), created_at=at))
    s.flush()


def relate(s, a: int, b: int, kind: str = "knows", strength: float = 0.8) -> None:
    s.add(Relationship(from_customer_id=a, to_customer_id=b, kind=kind, strength=strength))
    s.flush()


def customer(s, name: str, *, company: str | None = None, owner: int | None = None, tier: str = "standard",
             stage: str = "active") -> int:
    owner_row = s.get(Staff, owner) if owner else None
    return create_customer(s, name, company=company, owner=owner_row, tier=tier, stage=stage).id


def open_deal(s, customer_id: int, owner: int, amount: float, stage: str = "proposal", days_still: int = 40) -> None:
    s.add(Deal(customer_id=customer_id, owner_id=owner, title="Annual renewal", amount=amount, stage=stage,
               stage_changed_at=NOW - timedelta(days=days_still), created_at=NOW - timedelta(days=days_still + 5)))
    s.flush()


def open_ticket(s, customer_id: int, days_ago: int = 10) -> None:
    s.add(Ticket(customer_id=customer_id, status="open", subject="still waiting for a fix",
                 opened_at=NOW - timedelta(days=days_ago)))
    s.flush()

