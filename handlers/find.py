"""`/crm find`: search customers by name, company, email or phone, ranked."""
from __future__ import annotations

from bot.cards import customer_labels
from bot.registry import command
from bot.replies import Button, Item, Reply
from crm.search import search_customers


@command("find", usage="find <words>", summary="search customers (partial, misspelt or Chinese names work)",
         examples=["find glob", "find 王", "find ops@globex"], aliases=("search",), read_only=True)
def find(ctx) -> Reply:
    query = ctx.command.text.strip()
    if not query:
        raise ctx.fail(ctx.t("What should I look for? e.g. `/crm find globex`."))
    hits = search_customers(ctx.session, query[:200], limit=10)
    if not hits:
        return Reply(text=ctx.t("No customer matches “{q}”.", q=query[:80]))
    labels = customer_labels(ctx.session, [c for c, _ in hits], ctx.lang)
    items = [Item(labels[c.id], [Button(ctx.t("Show"), f"show #{c.id}")]) for c, _ in hits]
    return Reply(text=ctx.t("{n} for “{q}”:", q=query[:80],
                                 n=ctx.plural(len(hits), "{n} match", "{n} matches")),
                 items=items)
