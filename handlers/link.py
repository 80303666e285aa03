"""`/crm link`: a relationship between two customers (feeds the graph)."""
from __future__ import annotations

from bot.registry import command
from bot.replies import Reply
from crm.models import RELATIONSHIP_KINDS
from crm.relationships import link_customers

USAGE = "link <customer> <other customer> referred|knows|works-with [strength=0.1-1]"
KIND_WORDS = {k: k for k in RELATIONSHIP_KINDS} | {"works_with": "works-with", "colleague": "works-with",
                                                    "推荐": "referred", "认识": "knows", "同事": "works-with"}


@command("link", usage=USAGE, summary="record that two customers know, referred or work with each other",
         permission="customer.edit", examples=["link globex initech referred", '"Ann Lee" "Bo Chen" knows strength=0.9'])
def link(ctx) -> Reply:
    options = ctx.command.take_options({"strength"}, USAGE)
    tokens = ctx.command.tokens
    if len(tokens) != 3:
        raise ctx.fail(ctx.t("Name two customers and how they relate, e.g. `/crm link globex initech referred`."))
    kind = KIND_WORDS.get(tokens[2].value.lower())
    if kind is None:
        raise ctx.fail(ctx.t("“{k}” is not a relationship I know: use referred, knows or works-with.", k=tokens[2].value[:30]))
    strength = 0.5 if kind == "knows" else 0.7
    if "strength" in options:
        try:
            strength = float(options["strength"])
        except ValueError:
            strength = -1
        if not 0 < strength <= 1:
            raise ctx.fail(ctx.t("strength= is a number above 0 and at most 1, e.g. strength=0.8."))
    a = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    b = ctx.customer(tokens[1].value, quoted=tokens[1].quoted)
    if a.id == b.id:
        raise ctx.fail(ctx.t("Those are the same customer."))
    # a link changes both customers' graphs (warm paths, similar, next): the roles matrix's
    # "link on own customers" holds for each side, not only the first one named
    ctx.require("customer.edit", a)
    ctx.require("customer.edit", b)
    _, created = link_customers(ctx.session, source=a, target=b, kind=kind, strength=strength,
                                created_by=ctx.actor)
    ctx.audit("relationship.create" if created else "relationship.update", a, to_customer_id=b.id, kind=kind)
    verb = ctx.t("Linked") if created else ctx.t("Updated the link:")
    return Reply(text=ctx.t("{verb} {a} —{kind}→ {b} (strength {strength:.1f}).",
                            verb=verb, a=a.name, kind=kind, b=b.name, strength=strength))
