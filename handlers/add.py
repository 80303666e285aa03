"""`/crm add`: a new customer (or lead)."""
from __future__ import annotations

import re

from bot.cards import customer_card, customer_label
from bot.parser import Token
from bot.registry import command
from bot.replies import Button, Reply
from bot.roles import authorize_owner
from crm.customers import create_customer, find_duplicate, resolve_staff
from crm.i18n import N_
from crm.models import CUSTOMER_STAGES, TIERS

USAGE = ('add "Customer Name" [email=…] [phone=…] [company=…] [tier=vip] [stage=lead] [owner=@user] [tags=a,b] '
         '[force=yes]')
OPTIONS = frozenset({"email", "phone", "company", "tier", "stage", "owner", "tags", "language", "force"})
YES = ("yes", "y", "true", "1", "是")  # input words
WHY = {"email": N_("the same email"), "phone": N_("the same phone"), "name": N_("a near-identical name at the same company")}


@command("add", usage=USAGE, summary="add a customer", permission="customer.edit",
         examples=['add "Globex Corporation" email=ops@globex.example company=Globex tier=vip owner=@alice',
                   'add 王伟 phone=+86-138-0000-0000 company=华为'])
def add(ctx) -> Reply:
    _join_spaced_phone(ctx.command)
    options = ctx.command.take_options(OPTIONS, USAGE)
    name = " ".join(ctx.command.args).strip()
    if not name:
        raise ctx.fail(ctx.t("Give the customer's name, in quotes if it has spaces."))
    if len(name) > 200:
        raise ctx.fail(ctx.t("That name is longer than 200 characters."))
    if not any(ch.isalpha() for ch in name):
        raise ctx.fail(ctx.t("“{n}” does not look like a name. Type the customer's name, e.g. "
                             "`/crm add \"Globex Corporation\" phone={n}`.", n=name[:40]))
    tier = options.get("tier", "standard").lower()
    if tier not in TIERS:
        raise ctx.fail(ctx.t("Tier must be one of {allowed} (got “{got}”).",
                             allowed=", ".join(TIERS), got=tier))
    stage = options.get("stage", "lead").lower()
    if stage not in CUSTOMER_STAGES:
        raise ctx.fail(ctx.t("Stage must be one of {allowed} (got “{got}”).",
                             allowed=", ".join(CUSTOMER_STAGES), got=stage))
    owner = resolve_staff(ctx.session, options["owner"]) if options.get("owner") else ctx.actor
    authorize_owner(ctx.session, ctx.actor, owner)
    language = options.get("language", "zh" if ctx.lang == "zh" else "en")
    if language not in ("en", "zh"):
        raise ctx.fail(ctx.t("language must be en or zh."))
    if options.get("force", "").lower() not in YES:
        duplicate = find_duplicate(ctx.session, name, company=options.get("company"), email=options.get("email"),
                                   phone=options.get("phone"))
        if duplicate is not None:
            return _duplicate_reply(ctx, *duplicate)
    customer = create_customer(ctx.session, name, company=options.get("company"), email=options.get("email"),
                               phone=options.get("phone"), tier=tier, stage=stage, owner=owner,
                               tags=options.get("tags", ""), language=language)
    ctx.audit("customer.create", customer, name=customer.name)
    card = customer_card(ctx.session, customer, ctx.fmt, lang=ctx.lang)
    card.text = ctx.t("Added {label}.", label=customer_label(ctx.session, customer, ctx.lang))
    return card


_PHONE_PART = re.compile(r"^[\d\-().+/]+$")
_PHONE_KEYS = ("phone=", "电话=", "手机=")  # input words


def _join_spaced_phone(command) -> None:
    """`phone=+1 555 0199` typed without quotes: the digit groups after it are the phone, not the name."""
    tokens, joined = command.tokens, []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.quoted and tok.value.lower().startswith(_PHONE_KEYS):
            last = tok
            while i + 1 < len(tokens) and not tokens[i + 1].quoted and _PHONE_PART.match(tokens[i + 1].value) \
                    and any(ch.isdigit() for ch in tokens[i + 1].value):
                i += 1
                last = tokens[i]
            if last is not tok:
                tok = Token(command.text[tok.start:last.end], tok.start, last.end)
        joined.append(tok)
        i += 1
    command.tokens = joined


def _duplicate_reply(ctx, existing, why: str) -> Reply:
    """Nothing is added: the existing record, and a way to add the new one anyway."""
    card = customer_card(ctx.session, existing, ctx.fmt, lang=ctx.lang)
    card.error = True
    card.text = ctx.t("Not added: {label} already exists with {why}. Use that record, or add a new one anyway.",
                      label=customer_label(ctx.session, existing, ctx.lang),
                      why=ctx.t(WHY[why]))
    again = f"add {ctx.command.text.strip()} force=yes"
    card.buttons = [Button(ctx.t("Show"), f"show #{existing.id}", style="primary")]
    if len(again) <= 1900:
        card.buttons.append(Button(ctx.t("Add anyway"), again,
                                   confirm=ctx.t("Add a second customer anyway?")))
    return card
