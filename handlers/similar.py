"""`/crm similar <customer>`: customers that behave and talk alike, and why."""
from __future__ import annotations

import numpy as np
from sqlalchemy import func
from sqlmodel import col, select

from bot.registry import command
from bot.replies import Button, Item, Reply
from crm.i18n import money_totals
from crm.insights.features import COL
from crm.insights.read import _names
from crm.insights.similar import nearest
from crm.insights.snapshot import TIERS
from crm.models import OPEN_DEAL_STAGES, Customer, Deal
from handlers._insights import added_since_refresh, similar_index

USAGE = "similar <customer> [n=5]"


@command("similar", usage=USAGE, summary="customers most like this one, and why", group="Insights",
         examples=["similar globex", "similar #42 n=10"],
         details="Similarity mixes behaviour (contact rhythm, replies, tickets, ratings, deals, tier, risk; scaled) "
                 "with what their conversations talk about (TF-IDF of logged calls, notes and Telegram messages).")
def similar(ctx) -> Reply:
    options = ctx.command.take_options({"n"}, USAGE)
    tokens = ctx.command.tokens
    if not tokens:
        raise ctx.fail(ctx.t("Which customer? e.g. `/crm similar globex`."))
    try:
        k = int(options.get("n", 5))
    except ValueError:
        k = 0
    if not 1 <= k <= 20:
        raise ctx.fail(ctx.t("n= is how many to show, 1 to 20."))
    customer = ctx.customer(" ".join(t.value for t in tokens), quoted=tokens[0].quoted)
    index = similar_index(ctx)
    me = index.position(customer.id)
    if me is None:
        return added_since_refresh(ctx, customer.name, ctx.t("similar customers appear"))
    found = nearest(index.behaviour, index.texts, me, k=k + 5)
    names = _names(ctx.session, Customer, [int(index.customer_ids[j]) for j, *_ in found])
    items = []
    for j, score, b, t in found:
        cid = int(index.customer_ids[j])
        if cid not in names:
            continue  # erased since the refresh
        if score <= 0:
            break  # best first: the rest behave the opposite way, which is no likeness
        why = _why(ctx, index, me, j)
        churned = index.stage[j] == 3
        flag = ctx.t(" ⚠️ churned") if churned else ""
        items.append(Item(f"{names[cid]} (#{cid}){flag} · {score:.2f} "
                          f"({ctx.t('behaviour')} {b:.2f}, {ctx.t('conversations')} {t:.2f}) — {why}",
                          [Button(ctx.t("Show"), f"show #{cid}")]))
        if len(items) >= k:
            break
    if not items:
        return Reply(text=ctx.t("No other customer is similar enough to {name} yet.",
                                name=customer.name))
    churned = sum(1 for i in items if "⚠️" in i.text)
    head = ctx.t("Customers most like {name}:", name=customer.name)
    if churned:
        head += ctx.t(" {n} of them churned — watch the same signs.", n=churned)
    return Reply(text=head, items=items)


def _open_deals(ctx, customer_id: int) -> str:
    """The customer's open deals per currency ("$12,000 + CN¥50,000"), never added up across currencies."""
    rows = ctx.session.exec(select(func.sum(Deal.amount), Deal.currency)
                            .where(Deal.customer_id == customer_id, col(Deal.stage).in_(OPEN_DEAL_STAGES))
                            .group_by(Deal.currency)).all()
    return money_totals([(amount, currency) for amount, currency in rows], ctx.lang)


def _why(ctx, index, a: int, b: int) -> str:
    ra, rb = index.raw[a], index.raw[b]
    reasons = []
    words = _shared_words(index, a, b)
    if words:
        reasons.append(ctx.t("both talk about {w}", w=", ".join(f"“{w}”" for w in words)))

    def both(name: str, test) -> bool:
        return bool(test(ra[COL[name]]) and test(rb[COL[name]]))

    if both("days_since_contact", lambda v: v >= 30):
        reasons.append(ctx.t("both quiet for 30+ days ({x:.0f} and {y:.0f})",
                             x=ra[COL["days_since_contact"]], y=rb[COL["days_since_contact"]]))
    elif both("days_since_contact", lambda v: v < 14) and both("touches_90d", lambda v: v >= 1):
        # a customer nobody has talked to counts its creation as its last contact: no "in touch" then
        reasons.append(ctx.t("both in touch within two weeks"))
    if both("open_tickets", lambda v: v >= 1):
        reasons.append(ctx.t("both have unresolved tickets"))
    if both("bad_ratings_180d", lambda v: v >= 1):
        reasons.append(ctx.t("both gave bad ratings"))
    if both("stalled_deal_days", lambda v: v >= 21):
        reasons.append(ctx.t("both have a stalled deal"))
    elif both("open_deal_value", lambda v: v > 0):
        reasons.append(ctx.t("both have open deals ({x} and {y})",
                             x=_open_deals(ctx, int(index.customer_ids[a])),
                             y=_open_deals(ctx, int(index.customer_ids[b]))))
    if both("telegram_messages_90d", lambda v: v >= 2):
        reasons.append(ctx.t("both active on Telegram"))
    if both("reply_share_90d", lambda v: v < 0.2) and both("touches_90d", lambda v: v >= 2):
        reasons.append(ctx.t("both rarely reply"))
    if ra[COL["tier"]] == rb[COL["tier"]] and ra[COL["tier"]] >= 2:
        reasons.append(ctx.t("both {t}", t=TIERS[int(ra[COL["tier"]])]))
    if index.community[a] == index.community[b]:
        reasons.append(ctx.t("same cluster of related accounts"))
    return "; ".join(reasons[:4]) or ctx.t("similar overall pattern")


def _shared_words(index, a: int, b: int, limit: int = 3) -> list[str]:
    if index.texts.shape[1] == 0:
        return []
    both = index.texts.getrow(a).multiply(index.texts.getrow(b)).tocsr()
    if not both.nnz:
        return []
    best = both.indices[np.argsort(-both.data)[:limit]]
    return [index.vocabulary[i] for i in best]
