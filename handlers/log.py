"""`/crm log`: record a call, email, meeting, chat or note."""
from __future__ import annotations

from datetime import timedelta

from bot.cards import KIND_ZH, customer_label
from bot.registry import command
from bot.replies import Reply
from crm.interactions import log_interaction
from crm.models import INTERACTION_KINDS
from crm.i18n import with_article


USAGE = "log <customer> call|email|meeting|chat|note [when] <summary>"
KIND_WORDS = {k: k for k in INTERACTION_KINDS} | {
    "电话": "call", "通话": "call", "邮件": "email", "会议": "meeting", "见面": "meeting", "聊天": "chat",
    "备注": "note", "笔记": "note", "phone": "call", "mail": "email", "meet": "meeting", "msg": "message"}


@command("log", usage=USAGE, summary="log an interaction (the date is optional: “yesterday 4pm”)",
         summary_zh="记录一次沟通（日期可选：“昨天下午4点”）",
         examples=["log globex call yesterday 4pm discussed renewal pricing",
                   "log #12 email sent the proposal", "log 王伟 电话 昨天下午4点 讨论续约价格"])
def log(ctx) -> Reply:
    tokens = ctx.command.tokens
    if len(tokens) < 2:
        raise ctx.fail(ctx.t("Tell me who and what kind, e.g. `/crm log globex call discussed pricing`.",
                             "请说明客户和类型，例如 `/crm log 王伟 电话 讨论价格`。"))
    kind = KIND_WORDS.get(tokens[1].value.lower())
    if kind is None:
        raise ctx.fail(ctx.t("“{k}” is not a kind I know. Use call, email, meeting, chat or note.",
                             "“{k}”不是有效类型。请用 call、email、meeting、chat 或 note（电话/邮件/会议/聊天/备注）。",
                             k=tokens[1].value[:30]))
    customer = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    when, summary = ctx.when(ctx.command.rest_after(2), prefer="past")
    summary = (summary or "").strip(" ,.;:-—")
    if not summary:
        raise ctx.fail(ctx.t("What was it about? Add a few words, e.g. `/crm log {who} {kind} discussed renewal pricing`.",
                             "内容是什么？请写上几句，例如 `/crm log {who} {kind} 讨论续约价格`。",
                             who=tokens[0].value if not tokens[0].quoted else f'"{tokens[0].value}"', kind=tokens[1].value))
    if when is not None and when > ctx.now + timedelta(minutes=5):
        raise ctx.fail(ctx.t("That date is in the future. To plan a follow-up use `/crm remind`.",
                             "这个时间在未来。安排跟进请用 `/crm remind`。"))
    interaction = log_interaction(
        ctx.session, customer, kind=kind, text=summary, staff=ctx.actor, occurred_at=when or ctx.now,
        channel=ctx.message.platform, direction="internal" if kind == "note" else "outbound",
        source=(ctx.message.platform, ctx.message.message_id) if ctx.message.message_id else None)
    ctx.audit("interaction.create", customer, kind=kind, interaction_id=interaction.id)
    return Reply(text=ctx.t("Logged {kind} with {who}, {at}.", "已记录与 {who} 的{kind_zh}，时间 {at}。",
                            kind=with_article(kind), kind_zh=KIND_ZH.get(kind, kind),
                            who=customer_label(ctx.session, customer, ctx.lang), at=ctx.fmt(interaction.occurred_at)),
                 fields=[(ctx.t("Summary", "摘要"), summary)])
