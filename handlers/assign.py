"""`/crm assign`: give a customer to another owner (managers within their team, admins anyone)."""
from __future__ import annotations

from bot.cards import customer_label
from bot.registry import command
from bot.replies import Reply
from bot.roles import authorize_owner
from crm.customers import reassign_customer, resolve_staff
from crm.models import Staff

USAGE = "assign <customer> @colleague"


@command("assign", usage=USAGE, summary="make a colleague the owner of a customer (managers, admins)",
         permission="customer.reassign", examples=["assign globex @bob", "assign 王伟 @alice"],
         details="Open tasks stay with whoever they are assigned to; the change is in the audit trail.")
def assign(ctx) -> Reply:
    tokens = ctx.command.tokens
    if len(tokens) != 2:
        raise ctx.fail(ctx.t("Name the customer and the new owner, e.g. `/crm assign globex @bob`."))
    customer = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    ctx.require("customer.reassign", customer)  # the customer must be in the manager's team now
    new_owner = resolve_staff(ctx.session, tokens[1].value)
    if customer.owner_id == new_owner.id:
        return Reply(text=ctx.t("{who} already owns {c}; nothing changed.",
                                who=new_owner.name, c=customer.name))
    authorize_owner(ctx.session, ctx.actor, new_owner)
    previous = ctx.session.get(Staff, customer.owner_id) if customer.owner_id else None
    reassign_customer(ctx.session, customer, owner=new_owner)
    ctx.audit("customer.reassign", customer, from_owner=previous.name if previous else None, to_owner=new_owner.name)
    return Reply(text=ctx.t("{label} now belongs to {who} (was {was}).",
                            label=customer_label(ctx.session, customer, ctx.lang), who=new_owner.name,
                            was=previous.name if previous else ctx.t("nobody")))
