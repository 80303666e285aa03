"""`/crm next`: who to contact today and why, with Accept / Snooze / Dismiss.

Answers are stored (``recommendation_feedback``) and respected: accepted items become a
follow-up task due today and leave the list for 7 days, snoozed ones for 3 days (or until a
given time), dismissed ones for 14 days. The nightly job learns from them: reasons people
keep dismissing weigh less in their next list (``crm.insights.priorities.acceptance_rates``).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import select

from bot.errors import UserError
from bot.registry import command
from bot.replies import Button, Item, Reply
from bot.roles import team_ids
from crm.customers import resolve_staff
from crm.insights.feedback import record_feedback
from crm.insights.read import HIDE_FOR, _names, top_recommendations
from crm.insights.reasons import describe, describe_all
from crm.models import CustomerInsight, Staff
from crm.tasks import create_task
from handlers._insights import ensure_insights

USAGE = "next [team|@colleague] | next accept|snooze|dismiss #<customer> [until when]"
ACTIONS = {"accept": "accepted", "snooze": "snoozed", "dismiss": "dismissed",
           "接受": "accepted", "推迟": "snoozed", "忽略": "dismissed"}
LIST_SIZE = 10
TASK_TITLE_LIMIT = 80


@command("next", usage=USAGE, summary="who to contact today, and why (accept, snooze or dismiss each)",
         group="Insights", examples=["next", "next team", "next accept #12", "next snooze #12 monday 9am",
                                     "next dismiss #12"],
         details="Ranked by value × (risk, overdue contact, stalled deals, open tickets), adjusted by what you "
                 "accepted or dismissed before. Accept creates a follow-up for today; dismissed customers stay off "
                 "your list for 14 days, snoozed ones for 3 days.")
def next_(ctx) -> Reply:
    tokens = ctx.command.tokens
    if tokens and not tokens[0].quoted and tokens[0].value.lower() in ACTIONS:
        return _answer(ctx, ACTIONS[tokens[0].value.lower()])
    ensure_insights(ctx)
    owners, whose = {ctx.actor.id}, None
    if tokens:
        word = tokens[0].value
        if word.lower() in ("team", "团队"):
            if ctx.actor.role == "rep":
                raise ctx.fail(ctx.t("`/crm next team` is for managers; `/crm next` shows your own list."))
            owners, whose = _team(ctx), ctx.t("your team")
        else:
            other = resolve_staff(ctx.session, word)
            if other.id != ctx.actor.id:
                if not (ctx.actor.role == "admin" or (ctx.actor.role == "manager"
                                                      and other.id in team_ids(ctx.session, ctx.actor))):
                    raise ctx.fail(ctx.t("You can see your own list and, as a manager, your team's."))
                owners, whose = {other.id}, other.name
    recs = top_recommendations(ctx.session, ctx.actor.id, LIST_SIZE, now=ctx.now, owner_ids=owners)
    if not recs and whose is None and ctx.actor.role in ("manager", "admin"):
        owners, whose = _team(ctx), ctx.t("your team")
        recs = top_recommendations(ctx.session, ctx.actor.id, LIST_SIZE, now=ctx.now, owner_ids=owners)
    if not recs:
        return Reply(text=ctx.t("Nobody needs a call today{who}: no customer is overdue, at risk or waiting on a deal "
                                "or ticket (or you have answered every suggestion). 🎉", who=f" for {whose}" if whose else ""))
    owner_names = {}
    if whose is not None:
        owner_names = _names(ctx.session, Staff, [r.owner_id for r in recs])
    items = []
    for rank, r in enumerate(recs, 1):
        owner = f" · {owner_names.get(r.owner_id, '?')}" if whose else ""
        items.append(Item(f"{rank}. {r.name} (#{r.customer_id}){owner} — {r.why_zh if ctx.lang == 'zh' else r.why}",
                          [Button(ctx.t("Accept"), f"next accept #{r.customer_id}", style="primary"),
                           Button(ctx.t("Snooze"), f"next snooze #{r.customer_id}"),
                           Button(ctx.t("Dismiss"), f"next dismiss #{r.customer_id}", style="danger")]))
    head = ctx.t("Who to contact today{who}, most valuable first:",
                 who=f" ({whose})" if whose else "")
    return Reply(text=head, items=items)


def _team(ctx) -> set[int]:
    if ctx.actor.role == "admin":
        return set(ctx.session.exec(select(Staff.id)).all())
    return team_ids(ctx.session, ctx.actor)


def _answer(ctx, action: str) -> Reply:
    tokens = ctx.command.tokens
    if len(tokens) < 2:
        raise ctx.fail(ctx.t("Which customer? e.g. `/crm next {a} #12` (the number is on the list).", a=tokens[0].value.lower()))
    customer = ctx.customer(tokens[1].value, quoted=tokens[1].quoted)
    try:
        ensure_insights(ctx)  # the reasons stored with the answer come from the insights
    except UserError:
        pass  # not computed yet on a large store: the answer is still worth keeping
    insight = ctx.session.get(CustomerInsight, customer.id)
    reasons = json.loads(insight.priority_reasons) if insight and insight.priority_reasons else []
    hidden_until = ctx.now + HIDE_FOR[action]
    if action == "snoozed" and len(tokens) > 2:
        until, _ = ctx.when(ctx.command.rest_after(2), prefer="future")
        if until is None:
            raise ctx.fail(ctx.t("Until when? e.g. `/crm next snooze #{id} monday 9am` (or leave it out for 3 days).", id=customer.id))
        if until <= ctx.now:
            raise ctx.fail(ctx.t("{at} is already past.", at=ctx.fmt(until)))
        hidden_until = until
    record_feedback(ctx.session, staff=ctx.actor, customer=customer, action=action, now=ctx.now,
                    hidden_until=hidden_until, reasons=reasons)
    ctx.audit(f"recommendation.{action}", customer, until=hidden_until.isoformat())
    why = describe_all(reasons, ctx.lang)
    if action == "accepted":
        # a task list line, not the whole analysis: the name and the main reason (all of them are on the reply)
        first = describe(reasons[0], ctx.lang) if reasons else ""
        title = ctx.t("Contact {name}", name=_clip(customer.name, 60)) + (
            ctx.t(": {why}", why=first) if first else "")
        task = create_task(ctx.session, customer=customer, owner=ctx.actor, created_by=ctx.actor,
                           title=_clip(title, TASK_TITLE_LIMIT), due_at=_today_due(ctx), now=ctx.now)
        return Reply(text=ctx.t("Accepted: follow-up #{id} to contact {name} is due {at}. It is off your `/crm next` "
                                "list for 7 days.",
                                id=task.id, name=customer.name, at=ctx.fmt(task.due_at)),
                     items=[Item(why)] if why else [],
                     buttons=[Button(ctx.t("Log interaction"), f"log #{customer.id}", form="log"),
                              Button(ctx.t("Done"), f"done #{task.id}")])
    if action == "snoozed":
        return Reply(text=ctx.t("Snoozed {name} until {at}: it comes back to your list then.", name=customer.name,
                                at=ctx.fmt(hidden_until)))
    return Reply(text=ctx.t("Dismissed {name} for 14 days (until {at}). Dismissals teach the next ranking what "
                            "you don't find useful.", name=customer.name,
                            at=ctx.fmt(hidden_until, with_time=False)))


def _today_due(ctx) -> datetime:
    """17:00 today in the person's zone; an hour from now when the day is nearly over."""
    local = ctx.local_now
    end_of_day = local.replace(hour=17, minute=0, second=0, microsecond=0)
    due = end_of_day if end_of_day - local >= timedelta(hours=1) else local + timedelta(hours=1)
    return due.astimezone(ctx.now.tzinfo)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
