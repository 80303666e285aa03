"""What the nightly insight job left for the digest: recommendations and graph findings.

The digest never computes graph metrics itself. It reads the job's results through
``crm.insights.read`` (the summary blob and ``customer_insight`` written by ``crm-bot
insights refresh``), keeping the entries that concern the digest's people; when there is nothing
to read (the job has not run yet), the digest simply leaves these sections out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm.insights import read
from crm.models import Customer, Staff
from crm.recommend import describe



@dataclass
class Recommendation:
    customer_id: int
    customer: str
    score: float
    reason: str


@dataclass
class GraphNote:
    kind: str  # connector | single-threaded | decaying
    customer_id: int
    customer: str  # for single-threaded accounts: the company, and our one contact there
    owner: str | None
    detail: str  # why, in the reader's language


def _describe(reason: dict, lang: str) -> str:
    try:
        return describe(reason, lang)  # the insight job's own wording of its reasons
    except (KeyError, TypeError, ValueError):
        return str(reason.get("text") or reason.get("reason") or reason.get("kind") or "")


def _first_reason(raw: str, lang: str = "en") -> str:
    """Reasons are stored as a JSON list (or plain text by older jobs); the first one is enough here."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw.split(";")[0].strip()
    if isinstance(value, list) and value:
        first = value[0]
        return _describe(first, lang) if isinstance(first, dict) else str(first)
    return "" if isinstance(value, list) else str(value)


def recommendations(session: Session, people: list[Staff], now: datetime, per_person: int = 3, lang: str = "en"
                    ) -> dict[int, list[Recommendation]]:
    """Top customers to contact per person, skipping those they dismissed or snoozed."""
    result = {}
    for person in people:
        picks = read.top_recommendations(session, person.id, per_person, now=now)
        if picks:
            result[person.id] = [Recommendation(r.customer_id, r.name, r.priority,
                                                _describe(r.reasons[0], lang) if r.reasons else "")
                                 for r in picks]
    return result


def graph_notes(session: Session, people: list[Staff], limit: int = 3, lang: str = "en") -> list[GraphNote]:
    """The insight job's findings for these people; none before the job has first run (only the job
    knows connectors, single-threaded accounts and cooling relationships, README's definitions)."""
    if read.status(session) is None:
        return []
    return _notes_from_job(session, people, limit, lang)


def _notes_from_job(session: Session, people: list[Staff], limit: int, lang: str) -> list[GraphNote]:
    """The job's findings (company-wide lists) narrowed to the customers and staff of this digest."""
    names = {p.id: p.name for p in people}
    zh = lang == "zh"
    notes: list[GraphNote] = []

    connectors = read.key_connectors(session, limit=20)
    owners = dict(session.exec(select(Customer.id, Customer.owner_id)
                               .where(col(Customer.id).in_([c.customer_id for c in connectors]))).all())
    notes += [GraphNote("connector", c.customer_id, c.name, names[owners[c.customer_id]], c.why_zh if zh else c.why)
              for c in connectors if owners.get(c.customer_id) in names][:limit]

    notes += [GraphNote("single-threaded", a.customer_id, f"{a.company} ({a.customer})", names[a.staff_id],
                        a.why_zh if zh else a.why)
              for a in read.single_threaded_accounts(session, limit=100) if a.staff_id in names][:limit]

    decaying = [d for p in people for d in read.decaying_relationships(session, limit=limit, staff_id=p.id)]
    decaying.sort(key=lambda d: d.strength_now - d.strength_then)
    notes += [GraphNote("decaying", d.customer_id, d.customer, d.staff, d.why_zh if zh else d.why)
              for d in decaying[:limit]]
    return notes
