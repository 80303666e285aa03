"""What the inbox does with a customer message once it is read (crm/understanding/intent.py).

- the ticket is tagged: its most serious intent so far (cancellation > complaint > purchase > question >
  thanks > other), the latest sentiment and urgency, and the union of tags;
- the team's thread shows the reading (the card for a new ticket, a line for a later message that
  matters: complaint, cancellation, purchase intent or an urgent one);
- a complaint or cancellation signal raises the customer's churn risk now (and again after every
  nightly insight job, for 30 days), with the message as the reason;
- purchase intent is suggested to the owner in the thread, and listed with the message quoted in the
  owner's and their manager's digest (``signals_for``).

Everything runs inside the caller's unit of work; a failure to read never costs the message.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select as sa_select, update
from sqlmodel import Session, col, select

from crm.i18n import gettext, in_both
from crm.labels import intent_label, sentiment_label, urgent_label
from crm.models import Customer, CustomerInsight, Interaction, Ticket
from crm.understanding.intent import MessageReading, read_message

log = logging.getLogger("crm.message_reading")

SERIOUSNESS = {"cancellation": 5, "complaint": 4, "purchase": 3, "question": 2, "thanks": 1, "other": 0}
RISK_BUMP = {"cancellation": 0.5, "complaint": 0.3}  # combined as independent chances: 1 - (1-r)(1-p)
SIGNAL_DAYS = 30
NOTEWORTHY = ("complaint", "cancellation", "purchase")


def understood_label(ticket: Ticket, lang: str = "en") -> str:
    """The ticket's reading for its card: "cancellation / churn risk · negative · urgent · seats"."""
    parts = [intent_label(ticket.intent or "other", lang)]
    if ticket.sentiment and ticket.sentiment != "neutral":
        parts.append(sentiment_label(ticket.sentiment, lang))
    if ticket.urgency == "high":
        parts.append(urgent_label(lang))
    named = [t.split(":", 1)[1] for t in (ticket.tags or "").split(",") if t.startswith("product:")]
    if named:
        parts.append(", ".join(named[:4]))
    return " · ".join(parts)


def reading_line(reading: MessageReading, lang: str = "en") -> str:
    return gettext(lang, "🧭 Read as: {reading}", reading=reading.label(lang))


def read_inbound(session: Session, customer: Customer, ticket: Ticket, interaction: Interaction | None, text: str,
                 *, new_ticket: bool, now: datetime, to_thread=None) -> MessageReading | None:
    """Read one inbound message and record what it says on the ticket (and the customer's risk)."""
    body = text[len("(edited) "):] if text.startswith("(edited) ") else text
    try:
        reading = read_message(body)
    except Exception:  # the message is stored whatever happens here
        log.exception("could not read message %s", interaction.id if interaction else "?")
        return None
    apply_reading(ticket, reading, now)
    session.add(ticket)
    if reading.intent in RISK_BUMP:
        raise_risk(session, customer.id, reading.intent, body, now)
    if to_thread is not None and not new_ticket and (reading.intent in NOTEWORTHY or reading.urgency == "high"):
        to_thread(session, ticket, "note", reading_line(reading))
    if to_thread is not None and reading.intent == "purchase":
        to_thread(session, ticket, "note", purchase_suggestion(session, customer, body, reading))
    return reading


def apply_reading(ticket, reading: MessageReading, now: datetime) -> None:
    """What one message's reading changes on its ticket (a ``Ticket`` or any object with its reading
    attributes: crm/inbox/batch.py keeps plain rows)."""
    previous = ticket.intent
    if previous is None or SERIOUSNESS[reading.intent] >= SERIOUSNESS.get(previous, 0):
        ticket.intent, ticket.intent_at = reading.intent, now
    ticket.sentiment, ticket.urgency = reading.sentiment, reading.urgency
    tags = [t for t in (ticket.tags or "").split(",") if t]
    for tag in reading.tags:
        if tag not in tags:
            tags.append(tag)
    while len(",".join(tags)) > 500:
        tags.pop()
    ticket.tags = ",".join(tags)


def purchase_suggestion(session: Session, customer: Customer, text: str, reading: MessageReading) -> str:
    from crm.models import Staff

    owner = session.get(Staff, customer.owner_id) if customer.owner_id else None
    who = owner.name if owner else "Owner"
    quoted = " ".join(text.split())[:300]
    amount = next((a for a in reading.amounts if any(ch in a for ch in "$€£¥元万kK")), None)
    deal = f"`/crm deal #{customer.id} {amount.replace(' ', '')}`" if amount else f"`/crm deal #{customer.id} <amount>`"
    return (f"🛒 Purchase intent — {who}, worth a follow-up or a deal:\n> {quoted}\n"
            f"`/crm remind #{customer.id} tomorrow 10am follow up on their request` · {deal}")


def raise_risk(session: Session, customer_id: int, intent: str, text: str, now: datetime) -> None:
    """The customer's churn risk goes up at once; the nightly job re-applies it (``apply_signals``)."""
    row = session.get(CustomerInsight, customer_id)
    if row is None:
        row = CustomerInsight(customer_id=customer_id, risk=0.0, risk_reasons="[]", computed_at=now)
    reasons = json.loads(row.risk_reasons or "[]")
    reasons = [r for r in reasons if r.get("kind") != "signal"]
    reason = _signal_reason(intent, text, now)
    row.risk = 1 - (1 - (row.risk or 0.0)) * (1 - RISK_BUMP[intent])
    row.risk_reasons = json.dumps([reason] + reasons, ensure_ascii=False)
    session.add(row)


def _signal_reason(intent: str, text: str, at: datetime) -> dict:
    quoted = " ".join(text.split())[:120]
    text, text_zh = in_both("their message reads as {label}: “{quote}”", quote=quoted,
                            label=lambda lang: intent_label(intent, lang))
    return {"kind": "signal", "intent": intent, "quote": quoted, "at": at.isoformat(), "text": text,
            "text_zh": text_zh}


def apply_signals(conn, now: datetime) -> int:
    """After the nightly job rewrote every risk: raise it again for complaints and cancellation
    signals of the last 30 days (Core SQL, inside the job's transaction)."""
    since = now - timedelta(days=SIGNAL_DAYS)
    rows = conn.execute(sa_select(Ticket.customer_id, Ticket.intent, Ticket.subject, Ticket.intent_at)
                        .where(and_(col(Ticket.intent).in_(list(RISK_BUMP)), Ticket.intent_at >= since))
                        .order_by(Ticket.intent_at)).all()
    latest: dict[int, tuple] = {}
    for customer_id, intent, subject, at in rows:
        if customer_id not in latest or SERIOUSNESS[intent] >= SERIOUSNESS[latest[customer_id][0]]:
            latest[customer_id] = (intent, subject, at)
    table = CustomerInsight.__table__
    for customer_id, (intent, subject, at) in latest.items():
        current = conn.execute(sa_select(table.c.risk, table.c.risk_reasons)
                               .where(table.c.customer_id == customer_id)).first()
        if current is None:
            continue
        reasons = [r for r in json.loads(current.risk_reasons or "[]") if r.get("kind") != "signal"]
        risk = 1 - (1 - (current.risk or 0.0)) * (1 - RISK_BUMP[intent])
        conn.execute(update(table).where(table.c.customer_id == customer_id).values(
            risk=risk, risk_reasons=json.dumps([_signal_reason(intent, subject or "", at)] + reasons,
                                               ensure_ascii=False)))
    return len(latest)


@dataclass
class Signal:
    customer_id: int
    customer: str
    owner_id: int | None
    ticket_id: int
    intent: str
    at: datetime
    quote: str


def signals_for(session: Session, owner_ids: list[int], since: datetime, limit: int = 10) -> list[Signal]:
    """Tickets of these owners' customers read as cancellation, complaint or purchase intent since
    ``since``, most serious first, each with the latest such message quoted."""
    if not owner_ids:
        return []
    rows = session.exec(select(Ticket, Customer).join(Customer, Customer.id == Ticket.customer_id)
                        .where(col(Customer.owner_id).in_(owner_ids), col(Ticket.intent).in_(list(NOTEWORTHY)),
                               col(Ticket.intent_at).is_not(None), Ticket.intent_at >= since,
                               col(Customer.forgotten_at).is_(None))
                        .order_by(col(Ticket.intent_at).desc()).limit(limit * 3)).all()
    out = []
    for ticket, customer in rows:
        message = session.exec(select(Interaction.text).where(Interaction.ticket_id == ticket.id,
                                                              Interaction.direction == "inbound")
                               .order_by(col(Interaction.occurred_at).desc())).first()
        out.append(Signal(customer.id, customer.name, customer.owner_id, ticket.id, ticket.intent, ticket.intent_at,
                          " ".join((message or ticket.subject or "").split())[:200]))
    out.sort(key=lambda s: (-SERIOUSNESS[s.intent], -s.at.timestamp()))
    return out[:limit]
