"""`/crm log`: record a call, email, meeting, chat or note."""
from __future__ import annotations

from datetime import timedelta

from bot.cards import customer_label
from bot.registry import command
from bot.replies import Reply
from crm.i18n import with_article
from crm.interactions import log_interaction
from crm.labels import kind_label
from crm.models import INTERACTION_KINDS


USAGE = "log <customer> call|email|meeting|chat|note [when] <summary>"
KIND_WORDS = {k: k for k in INTERACTION_KINDS} | {
    "电话": "call", "通话": "call", "邮件": "email", "会议": "meeting", "见面": "meeting", "聊天": "chat",
    "备注": "note", "笔记": "note", "phone": "call", "mail": "email", "meet": "meeting", "msg": "message"}


@command("log", usage=USAGE, summary="log an interaction (the date is optional: “yesterday 4pm”)",
         examples=["log globex call yesterday 4pm discussed renewal pricing",
                   "log #12 email sent the proposal", "log 王伟 电话 昨天下午4点 讨论续约价格"])
def log(ctx) -> Reply:
    tokens = ctx.command.tokens
    if len(tokens) < 2:
        raise ctx.fail(ctx.t("Tell me who and what kind, e.g. `/crm log globex call discussed pricing`."))
    kind = KIND_WORDS.get(tokens[1].value.lower())
    if kind is None:
        raise ctx.fail(ctx.t("“{k}” is not a kind I know. Use call, email, meeting, chat or note.",
                             k=tokens[1].value[:30]))
    customer = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    when, summary = ctx.when(ctx.command.rest_after(2), prefer="past")
    summary = (summary or "").strip(" ,.;:-—")
    if not summary:
        raise ctx.fail(ctx.t("What was it about? Add a few words, e.g. `/crm log {who} {kind} discussed renewal pricing`.",
                             who=tokens[0].value if not tokens[0].quoted else f'"{tokens[0].value}"', kind=tokens[1].value))
    if when is not None and when > ctx.now + timedelta(minutes=5):
        raise ctx.fail(ctx.t("That date is in the future. To plan a follow-up use `/crm remind`."))
    interaction = log_interaction(
        ctx.session, customer, kind=kind, text=summary, staff=ctx.actor, occurred_at=when or ctx.now,
        channel=ctx.message.platform, direction="internal" if kind == "note" else "outbound",
        source=(ctx.message.platform, ctx.message.message_id) if ctx.message.message_id else None,
        source_claimed=bool(ctx.message.extra.get("claimed")))
    ctx.audit("interaction.create", customer, kind=kind, interaction_id=interaction.id)
    return Reply(text=ctx.t("Logged {kind} with {who}, {at}.",
                            kind=with_article(kind) if ctx.lang == "en" else kind_label(kind, ctx.lang),
                            who=customer_label(ctx.session, customer, ctx.lang), at=ctx.fmt(interaction.occurred_at)),
                 fields=[(ctx.t("Summary"), summary)])
