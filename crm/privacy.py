"""Privacy requests: everything held on a customer (GDPR art. 15) and erasure (art. 17)."""
from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, SQLModel, col, delete, or_, select

from crm import audit, erasure, pending_notes
from crm.models import (AuditEvent, CampaignRecipient, Customer, CustomerInsight, Deal, InboxOutbox, Interaction,
                        InviteToken, RecommendationFeedback, RelayedMessage, Relationship, Staff, Task, Ticket)
from crm.customers import company_name
from crm.types import utcnow

ERASED = "[erased]"


def _row(model: SQLModel) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in model.model_dump().items()}


def export_customer(session: Session, customer: Customer) -> dict:
    cid = customer.id
    rows = lambda model, *conds: [_row(r) for r in session.exec(select(model).where(*conds)).all()]  # noqa: E731
    data = {
        "exported_at": utcnow().isoformat(),
        "customer": _row(customer) | {"company": company_name(session, customer)},
        "interactions": rows(Interaction, Interaction.customer_id == cid),
        "deals": rows(Deal, Deal.customer_id == cid),
        "follow_ups": rows(Task, Task.customer_id == cid),
        "tickets": rows(Ticket, Ticket.customer_id == cid),
        "relationships": rows(Relationship, or_(Relationship.from_customer_id == cid,
                                                Relationship.to_customer_id == cid)),
        "campaign_messages": rows(CampaignRecipient, CampaignRecipient.customer_id == cid),
        "relayed_messages": rows(InboxOutbox, InboxOutbox.customer_id == cid),  # copies on their way to or from chat
        "audit_trail": rows(AuditEvent, AuditEvent.customer_id == cid),
    }
    data["customer"].pop("search_text", None)
    data["customer"].pop("name_key", None)
    return data


def export_json(session: Session, customer: Customer) -> str:
    return json.dumps(export_customer(session, customer), ensure_ascii=False, indent=2, default=str)


def forget_customer(session: Session, customer: Customer, *, actor: Staff | None, platform: str,
                    actor_label: str | None = None, now: datetime | None = None) -> None:
    """Erase personal data and message text; keep anonymous counts, dates and amounts.

    Everything else that could still hold them (mentions in other rows, search indexes, the
    insight cache, files, the raw SQLite file and its WAL) is handled by crm/erasure.py.
    """
    cid = customer.id
    needles = erasure.identifiers(customer)
    chat_id = customer.telegram_chat_id
    slack_threads = erasure.slack_thread_messages(session, cid)  # before the rows holding the ids go
    counts = {"interactions": len(session.exec(select(Interaction.id).where(Interaction.customer_id == cid)).all())}
    for interaction in session.exec(select(Interaction).where(Interaction.customer_id == cid)).all():
        interaction.text = ""
        session.add(interaction)
    for task in session.exec(select(Task).where(Task.customer_id == cid)).all():
        task.title = ERASED
        if task.status == "open":
            task.status = "cancelled"
        session.add(task)
    for deal in session.exec(select(Deal).where(Deal.customer_id == cid)).all():
        deal.title = ""
        session.add(deal)
    for ticket in session.exec(select(Ticket).where(Ticket.customer_id == cid)).all():
        ticket.subject = ""
        session.add(ticket)
    session.exec(delete(Relationship).where(or_(Relationship.from_customer_id == cid,
                                                Relationship.to_customer_id == cid)))
    session.exec(delete(InviteToken).where(InviteToken.customer_id == cid))
    # the inbox's copies of the conversation (sent, or still waiting to be relayed) go too
    session.exec(delete(InboxOutbox).where(InboxOutbox.customer_id == cid))
    # which Telegram message each thread message became: ids of their chat, nothing to keep
    session.exec(delete(RelayedMessage).where(col(RelayedMessage.ticket_id).in_(
        select(Ticket.id).where(Ticket.customer_id == cid))))
    session.exec(delete(CustomerInsight).where(CustomerInsight.customer_id == cid))
    pending_notes.erase_for_customer(session, cid)  # staff notes about them, unconfirmed or decided
    session.exec(delete(RecommendationFeedback).where(RecommendationFeedback.customer_id == cid))
    customer.name = f"Erased customer #{cid}"
    customer.name_key = ""
    customer.email = customer.phone = customer.phone_key = customer.telegram_username = None
    customer.telegram_chat_id = None
    customer.tags = ""
    customer.search_text = ""
    customer.search_cjk = ""
    customer.marketing_opt_out = True
    customer.forgotten_at = utcnow()
    session.add(customer)
    # earlier audit entries may quote personal data in their detail
    for event in session.exec(select(AuditEvent).where(AuditEvent.customer_id == cid,
                                                       col(AuditEvent.detail) != "")).all():
        event.detail = ""
        session.add(event)
    erasure.scrub_mentions(session, customer, needles)
    erasure.drop_links(session, customer, chat_id)
    erasure.queue_slack_deletions(session, slack_threads)
    erasure.remember_erased_chat(session, "telegram", chat_id, now or utcnow())
    erasure.drop_insight_cache(session)
    audit.record(session, "customer.forget", actor=actor, actor_label=actor_label, platform=platform,
                 customer_id=cid, **counts)
    session.flush()  # the FTS triggers run on the flush; then the index is merged without the old terms
    erasure.optimize_search_index(session)
    erasure.after_commit(session, needles, cid)
