"""`/crm tasks`, `/crm done`, `/crm snooze`: the follow-up list."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.cards import task_item
from bot.errors import NotFound, PermissionDenied
from bot.registry import command
from bot.replies import Reply
from bot.roles import team_ids
from crm.customers import resolve_staff
from crm.models import Customer, Staff, Task
from crm.tasks import complete_task, reschedule_task


def _find_task(ctx, ref: str) -> Task:
    ref = ref.strip()
    if ref.lstrip("#").isdigit() and len(ref.lstrip("#")) <= 18:  # a 64-bit id; longer is no id of ours
        task = ctx.session.get(Task, int(ref.lstrip("#")))
        if task is None:
            raise NotFound(ctx.t("There is no task #{id}. `/crm tasks` lists yours.",
                                 id=ref.lstrip("#")), ctx.spec.usage)
    else:
        mine = ctx.session.exec(select(Task).where(Task.owner_id == ctx.actor.id, Task.status == "open")).all()
        matches = [t for t in mine if ref.casefold() in t.title.casefold()]
        if len(matches) != 1:
            found = "several" if matches else "none"
            raise NotFound(ctx.t("Name the task by its number, e.g. `#12` ({found} of your open tasks match “{ref}”). "
                                 "`/crm tasks` lists them.", found=found, ref=ref[:40]),
                           ctx.spec.usage)
        task = matches[0]
    if task.owner_id != ctx.actor.id and not _manages(ctx, task.owner_id):
        raise PermissionDenied(ctx.t("Task #{id} belongs to someone else.", id=task.id))
    return task


def _manages(ctx, staff_id: int) -> bool:
    if ctx.actor.role == "admin":
        return True
    return ctx.actor.role == "manager" and staff_id in team_ids(ctx.session, ctx.actor)


@command("tasks", usage="tasks [@colleague]", summary="open follow-ups, overdue first", group="Follow-ups",
         examples=["tasks", "tasks @bob"], read_only=True)
def tasks(ctx) -> Reply:
    owner = ctx.actor
    if ctx.command.tokens:
        owner = resolve_staff(ctx.session, ctx.command.args[0])
        if owner.id != ctx.actor.id and not _manages(ctx, owner.id):
            raise PermissionDenied(ctx.t("You can see your own tasks and, as a manager, your team's."))
    rows = ctx.session.exec(select(Task).where(Task.owner_id == owner.id, Task.status == "open")
                            .order_by(Task.due_at).limit(50)).all()
    if not rows:
        return Reply(text=ctx.t("No open follow-ups{who}. 🎉",
                                who="" if owner.id == ctx.actor.id else f" for {owner.name}"))
    names = dict(ctx.session.exec(select(Customer.id, Customer.name)
                                  .where(col(Customer.id).in_({t.customer_id for t in rows if t.customer_id}))).all())
    items = []
    for t in rows:
        item = task_item(t, ctx.fmt, ctx.now, lang=ctx.lang)
        if t.customer_id:
            item.text += f" — {names.get(t.customer_id, '?')}"
        items.append(item)
    overdue = sum(1 for t in rows if t.due_at < ctx.now)
    head = ctx.t("{n}{who}, {o} overdue:",
                 n=ctx.plural(len(rows), "{n} open follow-up", "{n} open follow-ups"), o=overdue,
                 who=("" if owner.id == ctx.actor.id else ctx.t(" for {o}", o=owner.name)))
    return Reply(text=head, items=items)


@command("done", usage="done <task>", summary="mark a follow-up done", group="Follow-ups",
         examples=["done #12", "done proposal"])
def done(ctx) -> Reply:
    if not ctx.command.tokens:
        raise ctx.fail(ctx.t("Which task? e.g. `/crm done #12`."))
    task = _find_task(ctx, ctx.command.text)
    if not complete_task(ctx.session, task, now=ctx.now):
        return Reply(text=ctx.t("Task #{id} was already done.", id=task.id))
    ctx.audit("task.done", ctx.session.get(Customer, task.customer_id) if task.customer_id else None, task_id=task.id)
    return Reply(text=ctx.t("Done: #{id} {title}. ✅", id=task.id, title=task.title))


@command("snooze", usage="snooze <task> <when>", summary="move a follow-up later (“1h”, “tomorrow 9am”)",
         group="Follow-ups", examples=["snooze #12 tomorrow 9am", "snooze #12 in 1 hour", "snooze #12 明天上午10点"])
def snooze(ctx) -> Reply:
    tokens = ctx.command.tokens
    if not tokens:
        raise ctx.fail(ctx.t("Which task, and until when? e.g. `/crm snooze #12 tomorrow 9am`."))
    task = _find_task(ctx, tokens[0].value)
    rest = ctx.command.rest_after(1)
    shortcut = {"1h": timedelta(hours=1), "2h": timedelta(hours=2), "30m": timedelta(minutes=30)}.get(rest.lower())
    until = ctx.now + shortcut if shortcut else ctx.when(rest, prefer="future")[0]
    if until is None:
        raise ctx.fail(ctx.no_such_date(rest) or ctx.t("Until when? e.g. “1h”, “tomorrow 9am”, “friday”, “明天上午10点”."))
    if until <= ctx.now:
        raise ctx.fail(ctx.t("{at} is already past.", at=ctx.fmt(until)))
    if task.status != "open":
        raise ctx.fail(ctx.t("Task #{id} is {s}; only open tasks can be snoozed.",
                             id=task.id, s=task.status))
    reschedule_task(ctx.session, task, due_at=until)
    ctx.audit("task.snooze", None, task_id=task.id, until=until.isoformat())
    owner = ctx.session.get(Staff, task.owner_id)
    return Reply(text=ctx.t("Snoozed #{id} until {at}{who}.", id=task.id, at=ctx.fmt(until),
                            who="" if owner.id == ctx.actor.id else f" (for {owner.name})"))
