"""The numbers behind a digest, read with a handful of grouped queries.

Every query is bounded by the team (indexed ``staff_id``/``owner_id``) and a time window,
so a digest costs the same at 1k or 100k customers apart from the team's own rows.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from bot.roles import team_ids
from bot.voice import Voice
from crm.models import OPEN_DEAL_STAGES, Customer, Deal, Interaction, Staff, Task, Ticket

STALLED_AFTER_DAYS = 21
CHART_DAYS = 14
LIST_LIMIT = 5


@dataclass
class RepActivity:
    staff: Staff
    total: int = 0
    by_kind: Counter = field(default_factory=Counter)
    by_channel: Counter = field(default_factory=Counter)


@dataclass
class TaskLine:
    task_id: int
    title: str
    due_at: datetime
    owner: str
    customer_id: int | None
    customer: str | None


@dataclass
class TicketLine:
    ticket_id: int
    customer_id: int
    customer: str
    assignee: str | None
    waiting_since: datetime
    answered: bool


@dataclass
class DealLine:
    deal_id: int
    customer_id: int
    customer: str
    owner: str | None
    title: str
    amount: float
    currency: str
    stage: str
    days_in_stage: int


@dataclass
class DigestData:
    recipient: Staff
    kind: str  # "manager" (their team) or "personal"
    day: date  # the recipient's local "yesterday": the last day the digest covers
    since: date  # the first day it covers: the day of the previous digest (Monday's covers the weekend)
    people: list[Staff]
    activity: list[RepActivity]
    overdue_total: int
    overdue_by_owner: dict[str, int]
    overdue_oldest: list[TaskLine]
    due_today: list[TaskLine]
    waiting_total: int
    waiting: list[TicketLine]
    moved: list[DealLine]
    stalled_total: int
    stalled: list[DealLine]
    pipeline: dict[str, tuple[int, dict[str, float]]]  # open stage -> (deals, amount per currency)
    chart_days: list[date]
    daily_activity: dict[int, list[int]]  # staff id -> interactions per chart day
    currency: str = "USD"  # CRM_CURRENCY
    rates: dict[str, float] = field(default_factory=dict)  # CRM_CURRENCY_RATES: units of ``currency`` each

    def pipeline_in_currency(self, stage: str) -> float | None:
        """The stage's open amount in ``currency`` (converted at the business's rates), or None when a
        currency without a rate is in it."""
        total = 0.0
        for cur, amount in self.pipeline.get(stage, (0, {}))[1].items():
            rate = 1.0 if cur == self.currency else self.rates.get(cur)
            if rate is None:
                return None
            total += amount * rate
        return total


def digest_people(session: Session, recipient: Staff, kind: str) -> list[Staff]:
    """Whose work the digest covers: a manager's whole team (admins: everyone), or only the rep."""
    if kind == "personal":
        return [recipient]
    if recipient.role == "admin":
        ids = set(session.exec(select(Staff.id).where(col(Staff.active).is_(True))).all())
    else:
        ids = team_ids(session, recipient)
    people = session.exec(select(Staff).where(col(Staff.id).in_(ids), col(Staff.active).is_(True))
                          .order_by(Staff.name)).all()
    return list(people)


def gather(session: Session, recipient: Staff, kind: str, voice: Voice) -> DigestData:
    now = voice.now
    people = digest_people(session, recipient, kind)
    ids = [p.id for p in people]
    names = {p.id: p.name for p in people}
    yesterday = voice.today - timedelta(days=1)
    since = covered_since(session, recipient, kind, voice)
    day_start, _ = voice.day_bounds(since)
    _, day_end = voice.day_bounds(yesterday)

    activity = {p.id: RepActivity(p) for p in people}
    for staff_id, kind_, channel, n in session.exec(
            select(Interaction.staff_id, Interaction.kind, Interaction.channel, func.count())
            .where(col(Interaction.staff_id).in_(ids), Interaction.occurred_at >= day_start,
                   Interaction.occurred_at < day_end)
            .group_by(Interaction.staff_id, Interaction.kind, Interaction.channel)).all():
        row = activity[staff_id]
        row.total += n
        row.by_kind[kind_] += n
        row.by_channel[channel] += n
    # the manager's own row only when they did something themselves
    shown = [a for a in activity.values() if a.total or a.staff.id != recipient.id or kind == "personal"]

    today_start, today_end = voice.day_bounds(voice.today)
    overdue_filter = and_(col(Task.owner_id).in_(ids), Task.status == "open", Task.due_at < now)
    by_owner = dict(session.exec(select(Task.owner_id, func.count()).where(overdue_filter)
                                 .group_by(Task.owner_id)).all())
    oldest = _task_lines(session, select(Task).where(overdue_filter).order_by(Task.due_at).limit(LIST_LIMIT), names)
    due_today = []
    if kind == "personal":
        due_today = _task_lines(session, select(Task).where(
            Task.owner_id == recipient.id, Task.status == "open", Task.due_at >= now, Task.due_at < today_end)
            .order_by(Task.due_at).limit(LIST_LIMIT), names)

    waiting_total, waiting = _waiting_tickets(session, ids, names)
    moved, stalled_total, stalled, pipeline = _deals(session, ids, names, now, day_start, day_end)

    chart_days = [voice.today - timedelta(days=CHART_DAYS - i) for i in range(CHART_DAYS)]
    daily = _daily_activity(session, ids, voice, chart_days)

    return DigestData(
        recipient=recipient, kind=kind, day=yesterday, since=since, people=people, activity=shown,
        overdue_total=sum(by_owner.values()),
        overdue_by_owner={names[i]: n for i, n in sorted(by_owner.items(), key=lambda kv: -kv[1])},
        overdue_oldest=oldest, due_today=due_today, waiting_total=waiting_total, waiting=waiting,
        moved=moved, stalled_total=stalled_total, stalled=stalled, pipeline=pipeline,
        chart_days=chart_days, daily_activity=daily, currency=voice.settings.crm_currency,
        rates=voice.settings.currency_rates)


MAX_COVERED_DAYS = 14


def covered_since(session: Session, recipient: Staff, kind: str, voice: Voice) -> date:
    """The first local day this digest covers: everything since the previous one. That is the day
    the recipient's last digest went out (it covered the days before); without one, the previous
    business day, so Monday's digest covers Friday and the weekend."""
    from crm.models import DigestRun

    today = voice.today
    last = session.exec(select(func.max(DigestRun.run_date))
                        .where(DigestRun.staff_id == recipient.id, DigestRun.kind == kind,
                               DigestRun.status == "sent", DigestRun.run_date < today)).one()
    if last is None:
        last = today - timedelta(days=1)
        while not voice.settings.is_business_day(last) and today - last < timedelta(days=7):
            last -= timedelta(days=1)
    return max(min(last, today - timedelta(days=1)), today - timedelta(days=MAX_COVERED_DAYS))


def _customer_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.exec(select(Customer.id, Customer.name).where(col(Customer.id).in_(ids))).all())


def _task_lines(session: Session, stmt, names: dict[int, str]) -> list[TaskLine]:
    tasks = session.exec(stmt).all()
    customers = _customer_names(session, (t.customer_id for t in tasks))
    return [TaskLine(t.id, t.title, t.due_at, names.get(t.owner_id, "?"), t.customer_id,
                     customers.get(t.customer_id)) for t in tasks]


def _waiting_tickets(session: Session, ids: list[int], names: dict[int, str]) -> tuple[int, list[TicketLine]]:
    """Unresolved customer conversations of the team, the longest-waiting first."""
    waiting_since = func.coalesce(Ticket.last_inbound_at, Ticket.opened_at)
    mine = and_(col(Ticket.status).in_(("open", "pending")),
                or_(col(Ticket.assignee_id).in_(ids),
                    and_(col(Ticket.assignee_id).is_(None), col(Customer.owner_id).in_(ids))))
    base = select(Ticket.id).join(Customer, Customer.id == Ticket.customer_id).where(mine)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(select(Ticket, Customer.name).join(Customer, Customer.id == Ticket.customer_id)
                        .where(mine).order_by(waiting_since).limit(LIST_LIMIT)).all()
    return total, [TicketLine(t.id, t.customer_id, name, names.get(t.assignee_id) if t.assignee_id else None,
                              t.last_inbound_at or t.opened_at, t.first_response_at is not None)
                   for t, name in rows]


def _deals(session: Session, ids: list[int], names: dict[int, str], now: datetime, day_start: datetime,
           day_end: datetime):
    team = col(Deal.owner_id).in_(ids)
    moved_rows = session.exec(select(Deal, Customer.name).join(Customer, Customer.id == Deal.customer_id)
                              .where(team, Deal.stage_changed_at >= day_start, Deal.stage_changed_at < day_end)
                              .order_by(col(Deal.amount).desc()).limit(LIST_LIMIT)).all()
    stale = and_(team, col(Deal.stage).in_(OPEN_DEAL_STAGES),
                 Deal.stage_changed_at < now - timedelta(days=STALLED_AFTER_DAYS))
    stalled_total = session.exec(select(func.count()).select_from(Deal).where(stale)).one()
    stalled_rows = session.exec(select(Deal, Customer.name).join(Customer, Customer.id == Deal.customer_id)
                                .where(stale).order_by(col(Deal.amount).desc(), Deal.stage_changed_at)
                                .limit(LIST_LIMIT)).all()
    pipeline: dict[str, tuple[int, dict[str, float]]] = {stage: (0, {}) for stage in OPEN_DEAL_STAGES}
    for stage, currency, n, amount in session.exec(
            select(Deal.stage, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount), 0))
            .where(team, col(Deal.stage).in_(OPEN_DEAL_STAGES)).group_by(Deal.stage, Deal.currency)).all():
        count, amounts = pipeline[stage]
        amounts[currency] = amounts.get(currency, 0.0) + float(amount)
        pipeline[stage] = (count + n, amounts)

    def line(deal: Deal, customer: str) -> DealLine:
        return DealLine(deal.id, deal.customer_id, customer, names.get(deal.owner_id), deal.title, deal.amount,
                        deal.currency, deal.stage, (now - deal.stage_changed_at).days)

    return ([line(d, c) for d, c in moved_rows], stalled_total, [line(d, c) for d, c in stalled_rows], pipeline)


def _daily_activity(session: Session, ids: list[int], voice: Voice, days: list[date]) -> dict[int, list[int]]:
    """Interactions per person per local day. Bucketed here, not in SQL, so days follow the
    reader's zone (and DST) the same way on SQLite and PostgreSQL."""
    start, _ = voice.day_bounds(days[0])
    _, end = voice.day_bounds(days[-1])
    index = {d: i for i, d in enumerate(days)}
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * len(days))
    for staff_id, at in session.exec(select(Interaction.staff_id, Interaction.occurred_at)
                                     .where(col(Interaction.staff_id).in_(ids), Interaction.occurred_at >= start,
                                            Interaction.occurred_at < end)).all():
        slot = index.get(at.astimezone(voice.tz).date())
        if slot is not None:
            counts[staff_id][slot] += 1
    return {i: counts[i] for i in ids if i in counts}
