"""The audit trail: every change and every read of a customer card."""
from __future__ import annotations

import json

from sqlmodel import Session

from crm.models import AuditEvent, Staff


def record(session: Session, action: str, *, actor: Staff | None = None, actor_label: str | None = None,
           platform: str = "console", customer_id: int | None = None, **detail) -> AuditEvent:
    event = AuditEvent(action=action, actor_staff_id=actor.id if actor else None,
                       actor=actor_label or (actor.name if actor else "system"), platform=platform,
                       customer_id=customer_id,
                       detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else "")
    session.add(event)
    return event
