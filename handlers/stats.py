"""`/crm stats [team|me] [period]`: first-response time, resolution time and CSAT of Telegram conversations."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlmodel import col, select

from bot.registry import command
from bot.replies import Button, Item, Reply, Section
from bot.roles import team_ids
from crm.models import Staff
from crm.service_stats import Figures, OpenCase, rep_stats, team_stats

USAGE = "stats [team|me] [period]"
SCOPES = {"me": "me", "my": "me", "mine": "me", "我": "me", "我的": "me",
          "team": "team", "团队": "team", "全队": "team"}
_ROLLING = re.compile(r"^(?:last\s+|past\s+|最近|过去)?(\d{1,3})\s*(d|days?|天|w|weeks?|周|个?星期|m|months?|个月|月)$", re.I)
DEFAULT_DAYS = 7
MAX_DAYS = 366

DETAILS = ("First-response time: from a conversation's opening to the team's first reply (conversations opened in "
           "the period). Resolution time: opening to resolution (conversations resolved in the period). CSAT: the "
           "share of 4–5 ratings out of 5. A conversation counts for its assignee, or the customer's owner while "
           "nobody is assigned. Periods: 7d, 30d, 4w, 3m, today, yesterday, this week, last week, this month, "
           "last month (7 days when omitted). Reps see their own figures; managers their team's.")


@command("stats", usage=USAGE, summary="response times, resolution and satisfaction of customer conversations",
         group="Insights", details=DETAILS,
         examples=["stats", "stats me 30d", "stats team last week", "stats team this month", "stats 本月"],
         read_only=True)
def stats(ctx) -> Reply:
    words = [t.value for t in ctx.command.tokens]
    scope = SCOPES.get(words[0].lower()) if words else None
    if scope is not None:
        words = words[1:]
    else:
        scope = "me" if ctx.actor.role == "rep" else "team"
    since, until, label = parse_period(ctx, " ".join(words))
    if scope == "team":
        ctx.require("team.read")
        return _team_reply(ctx, since, until, label)
    return _rep_reply(ctx, since, until, label)


# ---------------------------------------------------------------- periods


def parse_period(ctx, text: str) -> tuple[datetime, datetime, str]:
    """(since, until, label) in the asker's zone; ``until`` is now for periods that run to today."""
    text = " ".join(text.lower().split())
    now = ctx.local_now
    today = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    if not text:
        return now - timedelta(days=DEFAULT_DAYS), now, ctx.t("the last 7 days")
    m = _ROLLING.match(text)
    if m:
        count, unit = int(m.group(1)), m.group(2)
        days = count * (7 if unit[0] in "w周星" or "星期" in unit else 30 if unit[0] in "m月个" else 1)
        if not 1 <= days <= MAX_DAYS:
            raise _bad_period(ctx, text)
        return now - timedelta(days=days), now, ctx.t("the last {n} days", n=days)
    named = {
        ("today", "今天"): (today, now, ctx.t("today")),
        ("yesterday", "昨天"): (today - timedelta(days=1), today, ctx.t("yesterday")),
        ("this week", "本周", "这周"): (week, now, ctx.t("this week")),
        ("last week", "上周"): (week - timedelta(days=7), week, ctx.t("last week")),
        ("this month", "本月", "这个月"): (month, now, ctx.t("this month")),
        ("last month", "上月", "上个月"): ((month - timedelta(days=1)).replace(day=1), month,
                                         ctx.t("last month")),
    }
    for words, period in named.items():
        if text in words:
            return period
    raise _bad_period(ctx, text)


def _bad_period(ctx, text: str):
    return ctx.fail(ctx.t("“{text}” is not a period I know. Use 7d, 30d, 4w, 3m (up to a year), today, yesterday, "
                          "this week, last week, this month or last month; say `team` or `me` first to choose whose.", text=text[:40]))


# ---------------------------------------------------------------- formatting


def duration(ctx, value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(round(value.total_seconds() / 60))
    if minutes < 1:
        return ctx.t("under 1 min")
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return ctx.t("{d}d {h}h", d=days, h=hours)
    if hours:
        return ctx.t("{h}h {m}m", h=hours, m=mins)
    return ctx.t("{m} min", m=mins)


def _csat(ctx, f: Figures) -> str:
    if f.csat is None:
        return ctx.t("— (no ratings)")
    return ctx.t("{p:.0%} satisfied · average {a:.1f}/5 · {n}",
                 p=f.csat, a=f.average_rating, n=ctx.plural(f.ratings, "{n} rating", "{n} ratings"))


def _figure_fields(ctx, f: Figures, open_now: int) -> list[tuple[str, str]]:
    return [(ctx.t("Conversations opened"), f"{f.conversations:,}"
             + (ctx.t(" ({n} not answered yet)", n=f.unanswered) if f.unanswered else "")),
            (ctx.t("First response, median"), duration(ctx, f.median_first_response)
             + (ctx.t(" · 90% within {p}", p=duration(ctx, f.p90_first_response))
                if f.p90_first_response is not None else "")),
            (ctx.t("Resolved"), f"{f.resolved:,}"),
            (ctx.t("Resolution time, median"), duration(ctx, f.median_resolution)),
            (ctx.t("CSAT"), _csat(ctx, f)),
            (ctx.t("Open now"), f"{open_now:,}")]


def _rep_line(ctx, name: str, f: Figures, open_now: int) -> str:
    return ctx.t("{name}: {c} conversations · first reply {frt} · resolution {res} · CSAT {csat} · {o} open", name=name,
                 c=f.conversations, frt=duration(ctx, f.median_first_response),
                 res=duration(ctx, f.median_resolution),
                 csat=f"{f.csat:.0%}" if f.csat is not None else "—", o=open_now)


def _case_items(ctx, cases: list[OpenCase], names: dict[int, str]) -> list[Item]:
    items = []
    for case in cases:
        who = names.get(case.staff_id, ctx.t("unassigned")) if case.staff_id else ctx.t("unassigned")
        state = ctx.t("wrote again") if case.answered_before else ctx.t("no reply yet")
        subject = f" — {case.subject[:60]}" if case.subject else ""
        items.append(Item(ctx.t("#{t} {name}{subject}: waiting {w} ({state}) · {who}", t=case.ticket_id,
                                name=case.customer_name, subject=subject, w=duration(ctx, case.waiting), state=state,
                                who=who),
                          [Button(ctx.t("Show"), f"show #{case.customer_id}")]))
    return items


# ---------------------------------------------------------------- replies


def _rep_reply(ctx, since, until, label) -> Reply:
    result = rep_stats(ctx.session, ctx.actor.id, since, until, now=ctx.now)
    sections = []
    if result.worst_open:
        sections.append(Section(ctx.t("Customers waiting longest"),
                                items=_case_items(ctx, result.worst_open, {ctx.actor.id: ctx.actor.name})))
    return Reply(text=ctx.t("Your customer conversations, {label} ({since} – {until}):", label=label,
                            since=ctx.fmt(since, with_time=False), until=_last_day(ctx, until)),
                 fields=_figure_fields(ctx, result.figures, result.open_now), sections=sections)


def _last_day(ctx, until: datetime) -> str:
    """Periods end just before ``until``: "last week" ends on Sunday, not the Monday after."""
    return ctx.fmt(until - timedelta(seconds=1) if until < ctx.now else until, with_time=False)


def _team_ids(ctx) -> set[int]:
    if ctx.actor.role == "admin":
        return set(ctx.session.exec(select(Staff.id).where(col(Staff.active).is_(True))).all())
    return team_ids(ctx.session, ctx.actor)


def _team_reply(ctx, since, until, label) -> Reply:
    ids = _team_ids(ctx)
    result = team_stats(ctx.session, ids, since, until, now=ctx.now)
    names = {r.staff_id: r.name for r in result.reps if r.staff_id is not None}
    people = [r for r in result.reps if r.figures.conversations or r.figures.resolved or r.open_now]
    sections = [Section(ctx.t("Per person"),
                        items=[Item(_rep_line(ctx, r.name if r.staff_id else ctx.t("Unassigned"),
                                              r.figures, r.open_now)) for r in people]
                        or [Item(ctx.t("No conversations in this period."))])]
    if result.worst_open:
        sections.append(Section(ctx.t("Customers waiting longest"),
                                items=_case_items(ctx, result.worst_open, names)))
    return Reply(text=ctx.t("Team conversations, {label} ({since} – {until}):",
                            label=label, since=ctx.fmt(since, with_time=False), until=_last_day(ctx, until)),
                 fields=_figure_fields(ctx, result.figures, result.open_now), sections=sections)
