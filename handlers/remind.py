"""`/crm remind`: a follow-up task with a due time."""
from __future__ import annotations

from bot.cards import customer_label, task_item
from bot.registry import command
from bot.replies import Reply
from crm.tasks import create_task

USAGE = "remind <customer> <when> <what>"


@command("remind", usage=USAGE, summary="set a follow-up (“tomorrow 3pm send the proposal”)",
         group="Follow-ups", examples=["remind globex tomorrow 3pm send the proposal",
                                       "remind #12 friday 10am call about the renewal", "remind 王伟 下周五下午2点 回电话"])
def remind(ctx) -> Reply:
    tokens = ctx.command.tokens
    if len(tokens) < 2:
        raise ctx.fail(ctx.t("Tell me who, when and what, e.g. `/crm remind globex tomorrow 3pm send the proposal`."))
    customer = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    due, title = ctx.when(ctx.command.rest_after(1), prefer="future")
    if due is None:
        raise ctx.fail(ctx.no_such_date(ctx.command.rest_after(1)) or ctx.t("I couldn't find when. Say e.g. “tomorrow 3pm”, “friday”, “in 2 hours” or “明天下午3点”."))
    if due <= ctx.now:
        raise ctx.fail(ctx.t("{at} is already past. Pick a time ahead.",
                             at=ctx.fmt(due)))
    title = title.strip(" ,.;:-—") or ""
    if not title:
        raise ctx.fail(ctx.t("Remind about what? Add a few words after the time."))
    task = create_task(ctx.session, customer=customer, owner=ctx.actor, created_by=ctx.actor, title=title, due_at=due)
    ctx.audit("task.create", customer, task_id=task.id, due_at=due.isoformat())
    return Reply(text=ctx.t("I'll remind you {at}: {title} — {who}.",
                            at=ctx.fmt(due), title=title, who=customer_label(ctx.session, customer, ctx.lang)),
                 items=[task_item(task, ctx.fmt, lang=ctx.lang)])
