"""What the nightly insight job left for the digest: recommendations and graph findings.

The digest never computes graph metrics itself. It reads the job's results through
``crm.insights.read`` (the summary blob and ``customer_insight`` written by ``crm-bot
insights refresh``), keeping the entries that concern the digest's people. Before the job has
ever run, graph notes fall back to plain reads of ``customer_insight``; when there is nothing to
read, the digest simply leaves these sections out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from crm.i18n import count, gettext
from crm.insights import read
from crm.insights.reasons import describe, describe_all
from crm.models import Customer, CustomerInsight, Staff
from crm.types import utcnow

KEY_TIERS = ("vip", "gold")
DECAYING_RISK = 0.6


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
    """Top customers to contact per person, skipping those they accepted, dismissed or snoozed, with
    every reason `/crm next` gives (the deal's money included), not only the first."""
    result = {}
    for person in people:
        picks = read.top_recommendations(session, person.id, per_person, now=now)
        if picks:
            result[person.id] = [Recommendation(r.customer_id, r.name, r.priority, describe_all(r.reasons, lang))
                                 for r in picks]
    return result


def graph_notes(session: Session, people: list[Staff], limit: int = 3, lang: str = "en", *,
                now: datetime | None = None, currency: str = "USD") -> list[GraphNote]:
    if read.status(session) is not None:
        return _notes_from_job(session, people, limit, lang, now, currency)
    return _notes_from_tables(session, people, limit, lang)


def _notes_from_job(session: Session, people: list[Staff], limit: int, lang: str, now: datetime | None = None,
                    currency: str = "USD") -> list[GraphNote]:
    """The job's findings (company-wide lists) narrowed to the customers and staff of this digest."""
    names = {p.id: p.name for p in people}
    notes: list[GraphNote] = []

    # the job's own "why" is written for analysts (PageRank, participation, strengths); a sales
    # manager reads what it means: who they know, what is at stake, how long since anyone talked
    connectors = read.key_connectors(session, limit=20)
    owners = dict(session.exec(select(Customer.id, Customer.owner_id)
                               .where(col(Customer.id).in_([c.customer_id for c in connectors]))).all())
    notes += [GraphNote("connector", c.customer_id, c.name, names[owners[c.customer_id]], _connector_words(c, lang))
              for c in connectors if owners.get(c.customer_id) in names][:limit]

    notes += [GraphNote("single-threaded", a.customer_id, f"{a.company} · {a.customer}" if a.company != a.customer
                        else a.customer, names[a.staff_id], _single_thread_words(a, lang, currency))
              for a in read.single_threaded_accounts(session, limit=100) if a.staff_id in names][:limit]

    decaying = [d for p in people for d in read.decaying_relationships(session, limit=limit, staff_id=p.id)]
    decaying.sort(key=lambda d: d.strength_now - d.strength_then)
    notes += [GraphNote("decaying", d.customer_id, d.customer, d.staff, _decay_words(d, lang, now))
              for d in decaying[:limit]]
    return notes


def _connector_words(c, lang: str) -> str:
    links = int(getattr(c, "links", 0) or 0)
    groups = int(getattr(c, "clusters_linked", 0) or 0)
    text = gettext(lang, "knows {customers}", customers=count(lang, links, "{n} other customer", "{n} other customers"))
    if groups > 1:
        text += gettext(lang, " across {n} separate circles", n=groups)
    return text + gettext(lang, ": a good person to ask for introductions")


def _single_thread_words(a, lang: str, currency: str) -> str:
    from crm.i18n import money_totals

    # the open deals per currency; ``a.value`` is a ranking weight (it counts the tier too), not money
    amounts = getattr(a, "amounts", None) or {}
    value = money_totals([(v, c) for c, v in amounts.items()], lang) if amounts else ""
    stake = gettext(lang, "{value} at stake; ", value=value) if value else ""
    if a.one_staff and a.one_contact:
        return stake + gettext(lang, "only {staff} talks to them, and only through {customer}: meet more people there",
                               staff=a.staff, customer=a.customer)
    if a.one_staff:
        return stake + gettext(lang, "only {staff} has a working relationship there", staff=a.staff)
    return stake + gettext(lang, "everything goes through {customer}: meet more people there", customer=a.customer)


def _decay_words(d, lang: str, now: datetime | None) -> str:
    from datetime import timezone

    now = now or utcnow()
    then, now_ = float(d.strength_then or 0), float(d.strength_now or 0)
    drop = max(0, round(100 * (1 - now_ / then))) if then > 0 else 0
    last = d.last_at
    days = None
    if last is not None:
        days = max(0, (now - last).days)
    text = gettext(lang, "{staff} is in touch {drop}% less than three months ago", staff=d.staff, drop=drop)
    if days is not None:
        text += gettext(lang, "; last contact {when}", when=gettext(lang, "today") if days == 0
                        else count(lang, days, "{n} day ago", "{n} days ago"))
    return text


def _notes_from_tables(session: Session, people: list[Staff], limit: int, lang: str) -> list[GraphNote]:
    ids = [p.id for p in people]
    names = {p.id: p.name for p in people}
    notes: list[GraphNote] = []
    team = and_(col(Customer.owner_id).in_(ids), col(Customer.forgotten_at).is_(None))

    for cid, name, owner, betweenness in session.exec(
            select(Customer.id, Customer.name, Customer.owner_id, CustomerInsight.betweenness)
            .join(CustomerInsight, CustomerInsight.customer_id == Customer.id)
            .where(team, CustomerInsight.betweenness > 0)
            .order_by(col(CustomerInsight.betweenness).desc()).limit(limit)).all():
        notes.append(GraphNote("connector", cid, name, names.get(owner),
                               gettext(lang, "links several groups of customers: a good person to ask for introductions")))

    # a key account where we know a single person: losing them loses the account
    key_companies = (select(Customer.company_id)
                     .where(team, col(Customer.tier).in_(KEY_TIERS), col(Customer.company_id).is_not(None)))
    lone = (select(Customer.company_id).where(col(Customer.company_id).in_(key_companies),
                                               col(Customer.forgotten_at).is_(None))
            .group_by(Customer.company_id).having(func.count() == 1))
    for cid, name, owner, tier in session.exec(
            select(Customer.id, Customer.name, Customer.owner_id, Customer.tier)
            .where(team, col(Customer.tier).in_(KEY_TIERS), col(Customer.company_id).in_(lone))
            .order_by(col(Customer.last_contact_at).desc()).limit(limit)).all():
        notes.append(GraphNote("single-threaded", cid, name, names.get(owner),
                               gettext(lang, "our only contact at this {tier} account", tier=tier)))

    for cid, name, owner, risk, why in session.exec(
            select(Customer.id, Customer.name, Customer.owner_id, CustomerInsight.risk, CustomerInsight.risk_reasons)
            .join(CustomerInsight, CustomerInsight.customer_id == Customer.id)
            .where(team, CustomerInsight.risk >= DECAYING_RISK,
                   or_(col(Customer.stage).in_(("active", "prospect")), col(Customer.tier).in_(KEY_TIERS)))
            .order_by(col(CustomerInsight.risk).desc()).limit(limit)).all():
        notes.append(GraphNote("decaying", cid, name, names.get(owner), _first_reason(why, lang) or f"{risk:.0%}"))
    return notes
