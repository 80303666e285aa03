"""Idempotency: a platform event id is acted on once, across retries, restarts and instances."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from crm.db import Database
from crm.models import ProcessedEvent


def claim_event(db: Database, platform: str, event_id: str) -> bool:
    """True the first time an id is seen; False for every retry or redelivery."""
    try:
        with db.write_session(urgent=True) as session:  # claims sit on acknowledgement paths: keep them quick
            session.add(ProcessedEvent(platform=platform, event_id=str(event_id)[:200]))
        return True
    except IntegrityError:
        return False


def claim_event_in(session, platform: str, event_id: str) -> bool:
    """The same claim inside a caller's transaction, so the claim and the work commit together."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(platform=platform, event_id=str(event_id)[:200]))
            session.flush()
        return True
    except IntegrityError:
        return False
