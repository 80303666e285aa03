"""`/crm invite`: a Telegram deep link that binds the customer's chat to their record."""
from __future__ import annotations

from datetime import timedelta

from bot.cards import customer_label
from bot.registry import command
from bot.replies import Reply
from crm.inbox.binding import create_invite

INVITE_DAYS = 14


@command("invite", usage="invite <customer>", summary="a Telegram link that connects the customer's chat",
         group="Customers on Telegram", examples=["invite globex"])
def invite(ctx) -> Reply:
    if not ctx.command.tokens:
        raise ctx.fail(ctx.t("Which customer?"))
    tok = ctx.command.tokens[0]
    customer = ctx.customer(" ".join(ctx.command.args) if not tok.quoted else tok.value, quoted=tok.quoted)
    token = create_invite(ctx.session, customer=customer, created_by=ctx.actor, now=ctx.now,
                          valid_for=timedelta(days=INVITE_DAYS))
    ctx.audit("invite.create", customer)
    username = ctx.ports.telegram_bot_username
    link = f"https://t.me/{username}?start={token}" if username else None
    text = ctx.t("Send this link to {who}. When they open it, their Telegram chat is connected to the record "
                 "(valid {d} days).",
                 who=customer_label(ctx.session, customer, ctx.lang), d=INVITE_DAYS)
    fields = [(ctx.t("Link"), link or f"https://t.me/<your_bot>?start={token}")]
    if not link:
        fields.append((ctx.pt("warning", "Note"), ctx.t(
            "Telegram is not configured here (TELEGRAM_BOT_TOKEN), so the bot's name is unknown.")))
    return Reply(text=text, fields=fields)
