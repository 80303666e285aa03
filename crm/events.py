"""Idempotency: a platform event id is acted on once, across retries, restarts and instances."""
from __future__ import annotations

from crm.claims import claim_once
from crm.db import Database
from crm.models import ProcessedEvent


def claim_event(db: Database, platform: str, event_id: str) -> bool:
    """True the first time an id is seen; False for every retry or redelivery."""
    with db.write_session(urgent=True) as session:  # claims sit on acknowledgement paths: keep them quick
        return claim_event_in(session, platform, event_id)


def claim_event_in(session, platform: str, event_id: str) -> bool:
    """The same claim inside a caller's transaction, so the claim and the work commit together."""
    return claim_once(session, ProcessedEvent(platform=platform, event_id=str(event_id)[:200]))
