"""`/crm ticket assign|resolve|reopen #<ticket>`: what the buttons on a customer's Slack thread run.

Resolving tells the customer on Telegram and asks them for a 1–5 rating. The message is
queued in the inbox outbox inside this command's own transaction, and the sender is woken
once that transaction commits (``crm.inbox.outbox.on_commit``) — so a resolve that fails changes
nothing and tells nobody, and a resolve that commits is delivered even across a crash.
Handlers run in a worker thread; the wake-up is thread-safe (``customer_messenger.wake()``
schedules onto the Telegram adapter's event loop).
"""
from __future__ import annotations

from bot.registry import command
from bot.replies import Reply
from crm.inbox import outbox, tickets
from crm.models import Customer, Ticket

USAGE = "ticket assign|resolve|reopen #<ticket>"
ACTIONS = ("assign", "resolve", "reopen")


def _ticket(ctx) -> tuple[str, Ticket]:
    args = ctx.command.args
    action = args[0].lower() if args else ""
    if action not in ACTIONS:
        raise ctx.fail(ctx.t("Say what to do with the ticket: assign, resolve or reopen, then its #number."))
    ref = args[1] if len(args) > 1 else ""
    if not ref.lstrip("#").isdigit() or len(ref.lstrip("#")) > 18:  # a 64-bit id
        raise ctx.fail(ctx.t("Which ticket? Give its number, e.g. `/crm ticket {a} #12`.", a=action))
    ticket = ctx.session.get(Ticket, int(ref.lstrip("#")))
    if ticket is None:
        raise ctx.fail(ctx.t("There is no ticket #{n}.", n=ref.lstrip("#")))
    return action, ticket


def _wake_sender_after_commit(ctx) -> None:
    messenger = ctx.ports.customer_messenger
    if messenger is not None:
        outbox.on_commit(ctx.session, messenger.wake)


@command("ticket", usage=USAGE, summary="take, resolve or reopen a customer's Telegram conversation",
         group="Customers on Telegram", examples=["ticket assign #12", "ticket resolve #12", "ticket reopen #12"],
         details="The buttons on a customer's Slack thread run these. Resolving asks the customer for a 1–5 rating.")
def ticket_command(ctx) -> Reply:
    action, ticket = _ticket(ctx)
    customer = ctx.session.get(Customer, ticket.customer_id)
    who = f"{customer.name} (#{customer.id})"
    if action == "assign":
        changed = tickets.assign(ctx.session, ticket, ctx.actor)
        text = ctx.t("Ticket #{t} with {who} is yours now.", t=ticket.id, who=who) \
            if changed else ctx.t("Ticket #{t} is already yours.", t=ticket.id)
    elif action == "resolve":
        if not tickets.resolve(ctx.session, ticket, ctx.actor, ctx.now):
            return Reply(text=ctx.t("Ticket #{t} is already resolved. Use `/crm ticket reopen #{t}` to open it again.", t=ticket.id))
        asked = customer.telegram_chat_id is not None
        text = ctx.t("Resolved ticket #{t} with {who}.", t=ticket.id, who=who)
        if asked:
            text += ctx.t(" They were asked for a 1–5 rating.")
    else:
        try:
            changed = tickets.reopen(ctx.session, ticket, ctx.actor)
        except ValueError as err:
            raise ctx.fail(ctx.t("Can't reopen #{t}: {why}.", t=ticket.id, why=err))
        text = ctx.t("Reopened ticket #{t} with {who}.", t=ticket.id, who=who) \
            if changed else ctx.t("Ticket #{t} is already open.", t=ticket.id)
    ctx.audit(f"ticket.{action}", customer, ticket=ticket.id)
    _wake_sender_after_commit(ctx)
    return Reply(text=text)
