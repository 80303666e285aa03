"""`/crm show`: the customer card."""
from __future__ import annotations

from bot.cards import customer_card
from bot.registry import command
from bot.replies import Reply


@command("show", usage="show <customer> [public]", summary="the customer card (public: post it to the channel)",
         examples=["show globex", "show #12 public", 'show "Globex Corporation"'])
def show(ctx) -> Reply:
    tokens = list(ctx.command.tokens)
    public = bool(tokens) and not tokens[-1].quoted and tokens[-1].value.lower() in ("public", "公开")
    if public:
        tokens = tokens[:-1]
    if not tokens:
        raise ctx.fail(ctx.t("Which customer?"))
    ref = " ".join(t.value for t in tokens)
    customer = ctx.customer(ref, quoted=tokens[0].quoted)
    ctx.audit("customer.view", customer, public=public)
    return customer_card(ctx.session, customer, ctx.fmt, public=public, lang=ctx.lang)
