"""Quick reads of the cached insights, for commands and the digest. Nothing here computes.

Every function returns plain dataclasses with a human ``why`` (English) and ``why_zh``;
they return empty lists when the insight job has not run yet (see ``status``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, col, select

from crm.i18n import count, day_month, gettext, in_both, money_totals
from crm.insights import store
from crm.insights.reasons import describe, describe_all
from crm.models import Company, Customer, CustomerInsight, RecommendationFeedback, Staff
from crm.types import utcnow


@dataclass
class InsightStatus:
    computed_at: datetime
    customers: int
    risk_source: str  # "model" | "heuristic"
    churned: int
    stayed: int
    auc_cv: float | None
    min_labels: int
    # betweenness estimated from sampled paths (large graphs): the widest half-interval among the top-20
    # candidates relative to their values, with probability 0.9; None when exact
    connectors_error: float | None = None
    connectors_settled: bool = True  # the top 20 known within that error (else close ranks may swap)
    connectors_samples: int | None = None


@dataclass
class Recommendation:
    customer_id: int
    name: str
    owner_id: int | None
    priority: float
    risk: float | None
    reasons: list[dict]
    why: str
    why_zh: str

    @property
    def reason_kinds(self) -> str:
        return ",".join(r["kind"] for r in self.reasons)[:200]


@dataclass
class Connector:
    customer_id: int
    name: str
    company: str | None
    betweenness: float
    pagerank: float
    top_percent: float
    links: int
    clusters_linked: int
    why: str
    why_zh: str
    rank: int = 0  # by betweenness among customers; ties share a rank
    of: int = 0  # customers ranked
    pagerank_ratio: float = 0.0  # PageRank over the average account's


@dataclass
class Cluster:
    community: int
    size: int
    companies: list[str]
    hub_customer_id: int
    hub: str
    open_deal_value: float
    mean_risk: float
    churned: int
    why: str
    why_zh: str
    amounts: dict[str, float] = field(default_factory=dict)  # open deals per currency


@dataclass
class SingleThreadedAccount:
    company_id: int
    company: str
    value: float
    contacts: int
    staff_id: int
    staff: str
    customer_id: int
    customer: str
    strength: float
    one_staff: bool
    one_contact: bool
    why: str
    why_zh: str
    amounts: dict[str, float] = field(default_factory=dict)  # open deals per currency (none: no figure shown)


@dataclass
class DecayingRelationship:
    staff_id: int
    staff: str
    customer_id: int
    customer: str
    strength_then: float
    strength_now: float
    last_at: datetime | None
    why: str
    why_zh: str


@dataclass
class CustomerRisk:
    risk: float | None
    reasons: list[dict] = field(default_factory=list)
    source: str = "model"
    why: str = ""
    why_zh: str = ""


def status(session: Session) -> InsightStatus | None:
    s = store.summary(session)
    if s is None:
        return None
    risk = s.get("risk", {})
    return InsightStatus(datetime.fromisoformat(s["computed_at"]), s.get("customers", 0), risk.get("source", "?"),
                         risk.get("churned", 0), risk.get("stayed", 0), risk.get("auc_cv"),
                         risk.get("min_labels", 0), s.get("betweenness_error"), bool(s.get("betweenness_settled", True)),
                         s.get("betweenness_samples"))


def _names(session: Session, model, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    query = select(model.id, model.name).where(col(model.id).in_(ids))
    if model is Customer:
        query = query.where(col(Customer.forgotten_at).is_(None))
    return dict(session.exec(query).all())


def hidden_customers(session: Session, staff_id: int, now: datetime) -> set[int]:
    """Customers this person dismissed, snoozed or accepted recently: kept off their list until then."""
    return set(session.exec(select(RecommendationFeedback.customer_id)
                            .where(RecommendationFeedback.staff_id == staff_id,
                                   RecommendationFeedback.hidden_until > now)).all())


def top_recommendations(session: Session, staff_id: int, limit: int = 10, *, now: datetime | None = None,
                        owner_ids: set[int] | None = None) -> list[Recommendation]:
    """Who ``staff_id`` should contact today, best first, respecting their feedback.

    ``owner_ids`` widens the list to other owners' customers (a manager's team); by default,
    the person's own customers. Customers contacted since the job ran are left out.
    """
    now = now or utcnow()
    owners = owner_ids or {staff_id}
    hidden = hidden_customers(session, staff_id, now)
    if owners - {staff_id}:
        # a team list respects what each owner already answered: a customer their rep accepted,
        # snoozed or dismissed is not pushed back at the rep through the manager
        hidden |= {cid for cid, owner in session.exec(
            select(RecommendationFeedback.customer_id, Customer.owner_id)
            .join(Customer, Customer.id == RecommendationFeedback.customer_id)
            .where(col(RecommendationFeedback.staff_id).in_(owners), RecommendationFeedback.hidden_until > now)).all()
            if owner in owners}
    rows = session.exec(
        select(Customer.id, Customer.name, Customer.owner_id, Customer.last_contact_at, CustomerInsight.priority,
               CustomerInsight.risk, CustomerInsight.priority_reasons, CustomerInsight.computed_at)
        .join(CustomerInsight, CustomerInsight.customer_id == Customer.id)
        .where(col(Customer.owner_id).in_(owners), col(Customer.forgotten_at).is_(None),
               Customer.stage != "churned", col(CustomerInsight.priority).is_not(None))
        .order_by(col(CustomerInsight.priority).desc()).limit(limit + len(hidden) + 50)).all()
    out = []
    for cid, name, owner, last_contact, priority, risk, reasons_json, computed in rows:
        if cid in hidden or (last_contact is not None and last_contact > computed):
            continue
        reasons = json.loads(reasons_json or "[]")
        out.append(Recommendation(cid, name, owner, float(priority), risk, reasons, describe_all(reasons, "en"),
                                  describe_all(reasons, "zh")))
        if len(out) >= limit:
            break
    return out


def customer_risk(session: Session, customer_id: int) -> CustomerRisk | None:
    row = session.get(CustomerInsight, customer_id)
    if row is None:
        return None
    s = store.summary(session) or {}
    reasons = json.loads(row.risk_reasons or "[]")
    return CustomerRisk(row.risk, reasons, s.get("risk", {}).get("source", "model"), describe_all(reasons, "en"),
                        describe_all(reasons, "zh"))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _percent(value: float) -> str:
    """Two significant digits, never rounded to zero: 0.0243 -> "0.024%", 6.667 -> "6.7%"."""
    return f"{value:.2g}%" if value < 10 else f"{value:.0f}%"


def rank_words(e: dict) -> tuple[str, str]:
    """"1st of 15" for small stores; "12th of 48,000, top 0.025%" when the share says more."""
    rank, of = int(e.get("rank", 0)), int(e.get("of", 0))
    if not rank or not of:  # written by an older job
        return in_both("top {share}", share=_percent(max(e.get("top_percent", 0.0), 0.01)))
    # English says "12th of 48,000"; Chinese counts "48,000 位中第 12"
    words = in_both("{nth} of {of:,}", of=of, nth=lambda lang: ordinal(rank) if lang == "en" else f"{rank:,}")
    if of >= 200:
        share = _percent(100.0 * rank / of)
        words = tuple(gettext(lang, "{rank}, top {share}", rank=w, share=share) for lang, w in zip(("en", "zh"), words))
    return words


def _connectors(session: Session, entries: list[dict], limit: int, broker: bool) -> list[Connector]:
    names = _names(session, Customer, [e["customer_id"] for e in entries])
    companies = dict(session.exec(select(Customer.id, Company.name).join(Company, Company.id == Customer.company_id)
                                  .where(col(Customer.id).in_(list(names)))).all()) if names else {}
    out = []
    for e in entries:
        if e["customer_id"] not in names:
            continue
        rank_en, rank_zh = rank_words(e)
        # normalised betweenness is the average share of shortest routes between two others through this one
        routes = _percent(100.0 * e["betweenness"])
        ratio = e.get("pagerank_ratio") or 0.0
        rank = {"en": rank_en, "zh": rank_zh}.get
        clusters = lambda lang: count(lang, e["clusters_linked"], "{n} cluster", "{n} clusters")  # noqa: E731
        if broker:
            why, why_zh = in_both("links otherwise separate groups: relationships in {clusters}, spread "
                                  "{spread:.2f} (0 = one cluster, near 1 = evenly); on {routes} of the shortest "
                                  "routes between other accounts ({rank} by betweenness)",
                                  clusters=clusters, spread=e["participation"], routes=routes, rank=rank)
        else:
            influence = (lambda lang: gettext(lang, "; PageRank {ratio:.1f}× the average account", ratio=ratio)) \
                if ratio else ""
            why, why_zh = in_both("on {routes} of the shortest routes between other accounts ({rank} by betweenness); "
                                  "{links} across {clusters}{influence}", routes=routes, rank=rank,
                                  links=lambda lang: count(lang, e["links"], "{n} relationship", "{n} relationships"),
                                  clusters=clusters, influence=influence)
        out.append(Connector(e["customer_id"], names[e["customer_id"]], companies.get(e["customer_id"]),
                             e["betweenness"], e["pagerank"], e["top_percent"], e["links"], e["clusters_linked"],
                             why, why_zh, int(e.get("rank", 0)), int(e.get("of", 0)), float(ratio)))
        if len(out) >= limit:
            break
    return out


def key_connectors(session: Session, limit: int = 5) -> list[Connector]:
    """Customers on the most shortest paths between others (sampled betweenness), with PageRank."""
    s = store.summary(session)
    return _connectors(session, s.get("connectors", []), limit, broker=False) if s else []


def brokers(session: Session, limit: int = 5) -> list[Connector]:
    """Connectors whose relationships spread over several clusters (betweenness x participation)."""
    s = store.summary(session)
    return _connectors(session, s.get("brokers", []), limit, broker=True) if s else []


def _amounts(amounts: dict[str, float], lang: str) -> str:
    """"$12,000 + CN¥50,000": open deal amounts per currency, in Babel's formats as deals show them."""
    return money_totals([(v, c) for c, v in amounts.items()], lang)


def clusters(session: Session, limit: int = 5) -> list[Cluster]:
    s = store.summary(session)
    if not s:
        return []
    entries = s.get("clusters", [])[:limit]
    company_names = _names(session, Company, [c for e in entries for c in e["companies"]])
    hubs = _names(session, Customer, [e["hub_customer_id"] for e in entries])
    out = []
    for e in entries:
        names = [company_names[c] for c in e["companies"] if c in company_names]
        hub = hubs.get(e["hub_customer_id"], f"#{e['hub_customer_id']}")
        label = ", ".join(names) or hub
        amounts = e.get("open_deal_amounts") or {}
        deals = (lambda lang: gettext(lang, "open deals {amounts}; ", amounts=_amounts(amounts, lang))) \
            if amounts else ""
        why, why_zh = in_both("{size} related customers around {label}; hub {hub}; {deals}mean risk {risk:.2f}; "
                              "{churned} churned", size=e["size"], label=label, hub=hub, deals=deals,
                              risk=e["mean_risk"], churned=e["churned"])
        out.append(Cluster(e["community"], e["size"], names, e["hub_customer_id"], hub, e["open_deal_value"],
                           e["mean_risk"], e["churned"], why, why_zh, dict(amounts)))
    return out


def single_threaded_accounts(session: Session, limit: int = 5) -> list[SingleThreadedAccount]:
    """Valuable companies reached through one staff member or one contact only."""
    s = store.summary(session)
    if not s:
        return []
    entries = s.get("single_threaded", [])
    companies = _names(session, Company, [e["company_id"] for e in entries[: limit * 3]])
    staff = _names(session, Staff, [e["staff_id"] for e in entries[: limit * 3]])
    customers = _names(session, Customer, [e["customer_id"] for e in entries[: limit * 3]])
    out = []
    for e in entries:
        if e["company_id"] not in companies or e["customer_id"] not in customers:
            continue
        one_staff, one_contact = e["staff_threads"] == 1, e["reached_contacts"] == 1
        who, contact = staff.get(e["staff_id"], "?"), customers[e["customer_id"]]
        # what is at stake: the open deals per currency (``value`` also weighs the tier, it is no sum of money)
        amounts = e.get("deal_amounts") or {}
        stake = (lambda lang: gettext(lang, "{amounts} at stake, ", amounts=_amounts(amounts, lang))) \
            if amounts else ""
        if one_staff and one_contact:
            why, why_zh = in_both("{stake}reached only through {who} and only via {contact} (strength {strength:.2f}); "
                                  "{on_file}", stake=stake, who=who, contact=contact, strength=e["strength"],
                                  on_file=lambda lang: count(lang, e["contacts"], "{n} contact on file",
                                                             "{n} contacts on file"))
        elif one_staff:
            why, why_zh = in_both("{stake}only {who} has a working relationship (strongest via {contact}, "
                                  "{strength:.2f})", stake=stake, who=who, contact=contact, strength=e["strength"])
        else:
            why, why_zh = in_both("{stake}everything goes through one contact, {contact} ({n} on file)",
                                  stake=stake, contact=contact, n=e["contacts"])
        why = why[:1].upper() + why[1:]
        out.append(SingleThreadedAccount(e["company_id"], companies[e["company_id"]], e["value"], e["contacts"],
                                         e["staff_id"], who, e["customer_id"], contact, e["strength"], one_staff,
                                         one_contact, why, why_zh, dict(amounts)))
        if len(out) >= limit:
            break
    return out


def decaying_relationships(session: Session, limit: int = 5, *, staff_id: int | None = None
                           ) -> list[DecayingRelationship]:
    """Staff–customer relationships that were strong 90 days ago and have faded to half or less."""
    s = store.summary(session)
    if not s:
        return []
    entries = [e for e in s.get("decaying", []) if staff_id is None or e["staff_id"] == staff_id]
    entries = entries[: limit * 3]
    staff = _names(session, Staff, [e["staff_id"] for e in entries])
    customers = _names(session, Customer, [e["customer_id"] for e in entries])
    out = []
    for e in entries:
        if e["customer_id"] not in customers:
            continue
        last = datetime.fromtimestamp(e["last_at"], timezone.utc) if e["last_at"] > 0 else None
        days = (lambda lang: gettext(lang, ", last contact {day}",
                                     day=f"{last:%-d %b}" if lang == "en" else day_month(last, lang))) if last else ""
        who = staff.get(e["staff_id"], "?")
        why, why_zh = in_both("{who} ↔ {customer}: strength {then:.2f} → {now:.2f} in 90 days{last}", who=who,
                              customer=customers[e["customer_id"]], then=e["then"], now=e["now"], last=days)
        out.append(DecayingRelationship(e["staff_id"], who, e["customer_id"], customers[e["customer_id"]],
                                        e["then"], e["now"], last, why, why_zh))
        if len(out) >= limit:
            break
    return out


HIDE_FOR = {"accepted": timedelta(days=7), "snoozed": timedelta(days=3), "dismissed": timedelta(days=14)}


__all__ = ["InsightStatus", "Recommendation", "Connector", "Cluster", "SingleThreadedAccount",
           "DecayingRelationship", "CustomerRisk", "status", "top_recommendations", "customer_risk", "key_connectors",
           "brokers", "clusters", "single_threaded_accounts", "decaying_relationships", "hidden_customers",
           "HIDE_FOR", "describe"]
