"""What staff answered to `/crm next` (accepted, snoozed, dismissed): hides the customer for a while
and teaches the priorities whose reasons are worth suggesting (``priorities.acceptance_rates``)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from crm.models import Customer, RecommendationFeedback, Staff


def record_feedback(session: Session, *, staff: Staff, customer: Customer, action: str, now: datetime,
                    hidden_until: datetime, reasons: list[dict]) -> RecommendationFeedback:
    row = RecommendationFeedback(staff_id=staff.id, customer_id=customer.id, action=action, at=now,
                                 hidden_until=hidden_until, reason_kinds=",".join(r["kind"] for r in reasons)[:200])
    session.add(row)
    return row
