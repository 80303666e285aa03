"""`/crm deal`: open a deal or move the open one (amount, stage)."""
from __future__ import annotations

import re

from sqlmodel import col, select

from bot.cards import customer_label, money
from bot.registry import command
from bot.replies import Reply
from crm.models import DEAL_STAGES, OPEN_DEAL_STAGES, Deal

USAGE = "deal <customer> <amount> [lead|qualified|proposal|negotiation|won|lost] [title…] [close=<date>]"
STAGE_WORDS = {s: s for s in DEAL_STAGES} | {"线索": "lead", "合格": "qualified", "报价": "proposal", "提案": "proposal",
                                             "谈判": "negotiation", "赢单": "won", "成交": "won", "输单": "lost", "丢单": "lost"}
_AMOUNT = re.compile(r"^[$€£¥]?(\d+(?:[.,]\d{3})*(?:\.\d+)?)\s*([km万]?)$", re.I)


def parse_amount(text: str) -> float | None:
    m = _AMOUNT.match(text.strip().replace(" ", ""))
    if not m:
        return None
    number = float(m.group(1).replace(",", ""))
    return number * {"": 1, "k": 1e3, "m": 1e6, "万": 1e4}[m.group(2).lower()]


@command("deal", usage=USAGE, summary="open a deal, or update the customer's open deal", group="Deals",
         summary_zh="新建商机，或更新客户当前的商机",
         permission="customer.edit",
         examples=["deal globex 12000 proposal", "deal globex 15k negotiation close=dec 15", "deal #12 0 won"])
def deal(ctx) -> Reply:
    options = ctx.command.take_options({"close", "title", "currency", "new"}, USAGE)
    tokens = ctx.command.tokens
    if len(tokens) < 2:
        raise ctx.fail(ctx.t("Tell me the customer and the amount, e.g. `/crm deal globex 12000 proposal`.",
                             "请给出客户和金额，例如 `/crm deal 王伟 12000 proposal`。"))
    customer = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    amount = parse_amount(tokens[1].value)
    if amount is None or amount > 1e12:
        raise ctx.fail(ctx.t("“{a}” is not an amount. Use digits like 12000, 12,000, 12k or $12,000.",
                             "“{a}”不是有效金额。请用 12000、12k 等形式。", a=tokens[1].value[:30]))
    stage, title_from = None, 2
    if len(tokens) > 2 and tokens[2].value.lower() in STAGE_WORDS:
        stage, title_from = STAGE_WORDS[tokens[2].value.lower()], 3
    title = options.get("title") or ctx.command.rest_after(title_from)
    close = None
    if options.get("close"):
        close_at = ctx.when(options["close"], prefer="future")[0]
        if close_at is None:
            raise ctx.fail(ctx.t("close= needs a date, e.g. close=2026-12-15 or close=“end of month”.",
                                 "close= 需要日期，例如 close=月底。"))
        close = close_at.date()
    currency = options.get("currency", "USD").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ctx.fail("currency= takes a three-letter code such as USD, EUR or CNY.")
    ctx.require("customer.edit", customer)
    open_deals = ctx.session.exec(select(Deal).where(Deal.customer_id == customer.id,
                                                     col(Deal.stage).in_(OPEN_DEAL_STAGES))).all()
    if len(open_deals) == 1 and "new" not in options:
        row, created = open_deals[0], False
        before = (row.amount, row.stage)
    else:
        row, created, before = Deal(customer_id=customer.id, owner_id=customer.owner_id or ctx.actor.id,
                                    stage=stage or "lead"), True, None
    row.amount, row.currency = amount, currency
    if stage and stage != row.stage:
        row.stage, row.stage_changed_at = stage, ctx.now
    if row.stage in ("won", "lost") and row.closed_at is None:
        row.closed_at = ctx.now
        if row.stage == "won" and customer.stage in ("lead", "prospect"):
            customer.stage = "active"
            ctx.session.add(customer)
    if title:
        row.title = title[:200]
    if close:
        row.expected_close = close
    ctx.session.add(row)
    ctx.session.flush()
    ctx.audit("deal.create" if created else "deal.update", customer, deal_id=row.id, amount=amount, stage=row.stage,
              before=before)
    verb = ctx.t("Opened", "已创建") if created else ctx.t("Updated", "已更新")
    if len(open_deals) > 1 and "new" not in options and created:
        verb = ctx.t("Opened another", "已另建")
    return Reply(text=f"{verb} deal #{row.id}: {money(row.amount, row.currency)} · {row.stage} — "
                      f"{customer_label(ctx.session, customer)}",
                 fields=[("Title", row.title or "—"),
                         ("Expected close", f"{row.expected_close:%d %b %Y}" if row.expected_close else "—")])
