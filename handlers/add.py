"""`/crm add`: a new customer (or lead)."""
from __future__ import annotations

from bot.cards import customer_card, customer_label
from bot.registry import command
from bot.replies import Reply
from bot.roles import authorize_owner
from crm.customers import create_customer, resolve_staff
from crm.models import CUSTOMER_STAGES, TIERS

USAGE = 'add "Customer Name" [email=…] [phone=…] [company=…] [tier=vip] [stage=lead] [owner=@user] [tags=a,b]'
OPTIONS = frozenset({"email", "phone", "company", "tier", "stage", "owner", "tags", "language"})


@command("add", usage=USAGE, summary="add a customer", permission="customer.edit",
         summary_zh="添加客户",
         examples=['add "Globex Corporation" email=ops@globex.example company=Globex tier=vip owner=@alice',
                   'add 王伟 phone=+86-138-0000-0000 company=华为'])
def add(ctx) -> Reply:
    options = ctx.command.take_options(OPTIONS, USAGE)
    name = " ".join(ctx.command.args).strip()
    if not name:
        raise ctx.fail(ctx.t("Give the customer's name, in quotes if it has spaces.", "请给出客户名称（有空格时加引号）。"))
    if len(name) > 200:
        raise ctx.fail("That name is longer than 200 characters.")
    tier = options.get("tier", "standard").lower()
    if tier not in TIERS:
        raise ctx.fail(f"Tier must be one of {', '.join(TIERS)} (got “{tier}”).")
    stage = options.get("stage", "lead").lower()
    if stage not in CUSTOMER_STAGES:
        raise ctx.fail(f"Stage must be one of {', '.join(CUSTOMER_STAGES)} (got “{stage}”).")
    owner = resolve_staff(ctx.session, options["owner"]) if options.get("owner") else ctx.actor
    authorize_owner(ctx.session, ctx.actor, owner)
    language = options.get("language", "zh" if ctx.lang == "zh" else "en")
    if language not in ("en", "zh"):
        raise ctx.fail("language must be en or zh.")
    customer = create_customer(ctx.session, name, company=options.get("company"), email=options.get("email"),
                               phone=options.get("phone"), tier=tier, stage=stage, owner=owner,
                               tags=options.get("tags", ""), language=language)
    ctx.audit("customer.create", customer, name=customer.name)
    card = customer_card(ctx.session, customer, ctx.fmt)
    card.text = ctx.t("Added {label}.", "已添加 {label}。", label=customer_label(ctx.session, customer))
    return card
