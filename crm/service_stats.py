"""How fast and how well the team answers customers' Telegram conversations (tickets).

Definitions (a period is ``[since, until)``):

* **Who** a conversation counts for: its assignee (the first to answer becomes the assignee),
  or, while nobody is assigned, the customer's owner. Conversations with neither are
  "unassigned"; team figures include them, per-person figures cannot.
* **First-response time**: ``first_response_at − opened_at``, over conversations *opened* in
  the period that have been answered. Unanswered ones are counted separately (and show up
  in the worst open cases), rather than silently lowering or inflating the median.
* **Resolution time**: ``resolved_at − opened_at``, over conversations *resolved* in the period.
* **CSAT**: the share of 1–5 ratings that are 4 or 5, over conversations resolved in the
  period that the customer rated; the average rating is given too.
* **Worst open cases**: open conversations where the customer is waiting for us, longest wait
  first. The wait starts at the customer's first message after our last reply (or at the
  opening, if nobody has replied yet).

Times are wall-clock, not business hours. Medians and the 90th percentile are computed in
Python from one query's rows (PostgreSQL has percentile_cont, SQLite has nothing portable);
a period's tickets are a few thousand rows at most.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, false, func, or_
from sqlmodel import Session, col, select

from crm.models import Customer, Interaction, Staff, Ticket

OPEN = ("open", "pending")
SATISFIED = 4  # ratings of 4 and 5 count as satisfied (the usual CSAT definition)


@dataclass
class Figures:
    conversations: int = 0  # opened in the period
    answered: int = 0
    unanswered: int = 0
    median_first_response: timedelta | None = None
    p90_first_response: timedelta | None = None
    resolved: int = 0  # resolved in the period
    median_resolution: timedelta | None = None
    ratings: int = 0
    csat: float | None = None  # 0..1
    average_rating: float | None = None


@dataclass
class OpenCase:
    ticket_id: int
    customer_id: int
    customer_name: str
    staff_id: int | None
    subject: str
    waiting_since: datetime
    waiting: timedelta
    answered_before: bool  # we replied at some point, and the customer wrote again


@dataclass
class RepStats:
    staff_id: int | None  # None: conversations nobody is responsible for
    name: str
    since: datetime
    until: datetime
    figures: Figures
    open_now: int = 0
    worst_open: list[OpenCase] = field(default_factory=list)


@dataclass
class TeamStats:
    since: datetime
    until: datetime
    figures: Figures
    reps: list[RepStats]
    open_now: int = 0
    worst_open: list[OpenCase] = field(default_factory=list)


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the 90th of ten values is the ninth)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


@dataclass
class _Row:
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    rating: int | None
    responsible: int | None


def _figures(rows: list[_Row], since: datetime, until: datetime) -> Figures:
    opened = [r for r in rows if since <= r.opened_at < until]
    answered = [(r.first_response_at - r.opened_at).total_seconds() for r in opened if r.first_response_at]
    resolved = [r for r in rows if r.resolved_at and since <= r.resolved_at < until]
    durations = [(r.resolved_at - r.opened_at).total_seconds() for r in resolved]
    ratings = [r.rating for r in resolved if r.rating is not None]
    return Figures(
        conversations=len(opened), answered=len(answered), unanswered=len(opened) - len(answered),
        median_first_response=_seconds(statistics.median(answered)) if answered else None,
        p90_first_response=_seconds(_percentile(answered, 0.9)),
        resolved=len(resolved),
        median_resolution=_seconds(statistics.median(durations)) if durations else None,
        ratings=len(ratings),
        csat=sum(1 for r in ratings if r >= SATISFIED) / len(ratings) if ratings else None,
        average_rating=statistics.fmean(ratings) if ratings else None)


def _responsible():
    return func.coalesce(Ticket.assignee_id, Customer.owner_id)


def _who(staff_ids, include_unowned: bool):
    cond = _responsible().in_(list(staff_ids)) if staff_ids else None
    if include_unowned:
        unowned = and_(col(Ticket.assignee_id).is_(None), col(Customer.owner_id).is_(None))
        return unowned if cond is None else or_(cond, unowned)
    return cond if cond is not None else false()


def _period_rows(session: Session, staff_ids, since: datetime, until: datetime, include_unowned: bool) -> list[_Row]:
    in_period = or_(and_(Ticket.opened_at >= since, Ticket.opened_at < until),
                    and_(Ticket.resolved_at >= since, Ticket.resolved_at < until))
    rows = session.exec(select(Ticket.opened_at, Ticket.first_response_at, Ticket.resolved_at, Ticket.rating,
                               _responsible()).join(Customer, Customer.id == Ticket.customer_id)
                        .where(in_period, _who(staff_ids, include_unowned))).all()
    return [_Row(*row) for row in rows]


def _open_cases(session: Session, staff_ids, now: datetime, include_unowned: bool) -> list[OpenCase]:
    """Every open conversation of these people where the customer waits for us, longest wait first."""
    tickets = session.exec(select(Ticket.id, Ticket.customer_id, Customer.name, _responsible(), Ticket.subject,
                                  Ticket.opened_at).join(Customer, Customer.id == Ticket.customer_id)
                           .where(col(Ticket.status).in_(OPEN), _who(staff_ids, include_unowned))).all()
    if not tickets:
        return []
    ids = [t[0] for t in tickets]
    messages: dict[int, list[tuple[datetime, str]]] = {}
    for chunk in range(0, len(ids), 500):
        for ticket_id, at, direction in session.exec(
                select(Interaction.ticket_id, Interaction.occurred_at, Interaction.direction)
                .where(col(Interaction.ticket_id).in_(ids[chunk:chunk + 500]),
                       col(Interaction.direction).in_(("inbound", "outbound")))).all():
            messages.setdefault(ticket_id, []).append((at, direction))
    cases = []
    for ticket_id, customer_id, name, staff_id, subject, opened_at in tickets:
        history = sorted(messages.get(ticket_id, []))
        last_reply = max((at for at, d in history if d == "outbound"), default=None)
        if last_reply is None:
            since = min((at for at, d in history if d == "inbound"), default=opened_at)
        else:
            waiting = [at for at, d in history if d == "inbound" and at > last_reply]
            if not waiting:
                continue  # we spoke last: the customer is not waiting for us
            since = min(waiting)
        cases.append(OpenCase(ticket_id, customer_id, name, staff_id, subject, since, now - since,
                              last_reply is not None))
    cases.sort(key=lambda c: (-c.waiting.total_seconds(), c.ticket_id))
    return cases


def _open_count(session: Session, staff_ids, include_unowned: bool) -> dict[int | None, int]:
    rows = session.exec(select(_responsible(), func.count()).join(Customer, Customer.id == Ticket.customer_id)
                        .where(col(Ticket.status).in_(OPEN), _who(staff_ids, include_unowned))
                        .group_by(_responsible())).all()
    return {who: int(n) for who, n in rows}


def rep_stats(session: Session, staff_id: int, since: datetime, until: datetime, *, now: datetime | None = None,
              worst: int = 5) -> RepStats:
    """One person's figures for ``[since, until)`` and their worst open cases as of ``now``."""
    now = now or until
    staff = session.get(Staff, staff_id)
    rows = _period_rows(session, [staff_id], since, until, include_unowned=False)
    cases = _open_cases(session, [staff_id], now, include_unowned=False)
    return RepStats(staff_id, staff.name if staff else f"#{staff_id}", since, until, _figures(rows, since, until),
                    open_now=sum(_open_count(session, [staff_id], False).values()), worst_open=cases[:worst])


def team_stats(session: Session, staff_ids, since: datetime, until: datetime, *, now: datetime | None = None,
               worst: int = 5, include_unowned: bool = True) -> TeamStats:
    """Team totals (medians over every conversation, not medians of medians), one row per person.

    ``include_unowned`` adds conversations nobody is responsible for to the totals and the
    worst cases, as a row named "Unassigned".
    """
    now = now or until
    staff_ids = sorted(set(staff_ids))
    rows = _period_rows(session, staff_ids, since, until, include_unowned)
    cases = _open_cases(session, staff_ids, now, include_unowned)
    open_counts = _open_count(session, staff_ids, include_unowned)
    names = dict(session.exec(select(Staff.id, Staff.name).where(col(Staff.id).in_(staff_ids))).all()) \
        if staff_ids else {}
    reps = []
    for sid in sorted(staff_ids, key=lambda s: (names.get(s, ""), s)):
        mine = [r for r in rows if r.responsible == sid]
        reps.append(RepStats(sid, names.get(sid, f"#{sid}"), since, until, _figures(mine, since, until),
                             open_now=open_counts.get(sid, 0),
                             worst_open=[c for c in cases if c.staff_id == sid][:worst]))
    if include_unowned:
        orphans = [r for r in rows if r.responsible is None]
        if orphans or open_counts.get(None):
            reps.append(RepStats(None, "Unassigned", since, until, _figures(orphans, since, until),
                                 open_now=open_counts.get(None, 0),
                                 worst_open=[c for c in cases if c.staff_id is None][:worst]))
    return TeamStats(since, until, _figures(rows, since, until), reps, open_now=sum(open_counts.values()),
                     worst_open=cases[:worst])
