"""Writing interactions, exactly once per platform message."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.claims import claim_once
from crm.models import Customer, Interaction, Staff
from crm.types import utcnow


def log_interaction(session: Session, customer: Customer, *, kind: str, text: str, staff: Staff | None,
                    occurred_at: datetime | None = None, channel: str = "console", direction: str = "outbound",
                    source: tuple[str, str] | None = None, ticket_id: int | None = None,
                    campaign_id: int | None = None, source_claimed: bool = False) -> Interaction:
    """Store an interaction. With ``source`` (platform, message id) a repeat returns the stored row.
    ``source_claimed``: the caller's transaction already holds that message's exactly-once claim (a
    journaled slash command), so the source is only recorded, not looked up and claimed again."""
    if source is not None and not source_claimed:
        existing = session.exec(select(Interaction).where(Interaction.source_platform == source[0],
                                                          Interaction.source_message_id == str(source[1]))).first()
        if existing is not None:
            return existing
    interaction = Interaction(customer_id=customer.id, staff_id=staff.id if staff else None, kind=kind,
                              direction=direction, channel=channel, text=text, occurred_at=occurred_at or utcnow(),
                              source_platform=source[0] if source else None,
                              source_message_id=str(source[1]) if source else None,
                              ticket_id=ticket_id, campaign_id=campaign_id)
    if source_claimed:
        session.add(interaction)
        session.flush()  # callers read its id (the audit trail)
    elif not claim_once(session, interaction):
        # another instance stored the same platform message a moment ago (its source key is the claim)
        return session.exec(select(Interaction).where(Interaction.source_platform == source[0],
                                                      Interaction.source_message_id == str(source[1]))).one()
    if direction != "internal" and (customer.last_contact_at is None or interaction.occurred_at > customer.last_contact_at):
        customer.last_contact_at = interaction.occurred_at
        session.add(customer)
    return interaction
