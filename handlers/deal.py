"""`/crm deal`: open a deal or move the open one (amount, currency, stage, close date).

The grammar: the customer first; then, in either order, an amount (with its currency:
``12000``, ``$12k``, ``¥50000``, ``5万``, ``EUR 3.5k``) and a stage; the rest is the title.
Options (``close=``, ``stage=``, ``currency=``, ``title=``, ``new=yes``) may stand anywhere.
``deal <customer> won|lost`` closes the open deal at its amount; a stage word that is nearly
right ("negotation") is answered with "did you mean …?" and nothing changes.
"""
from __future__ import annotations

import difflib

from bot.cards import customer_label
from bot.parser import Token
from bot.registry import command
from bot.replies import Button, Reply
from crm.deals import change_deal, open_deal, open_deals_of
from crm.i18n import currency_code, parse_money
from crm.labels import stage_label
from crm.models import DEAL_STAGES, OPEN_DEAL_STAGES

USAGE = ("deal <customer> [amount] [lead|qualified|proposal|negotiation|won|lost] [title…] "
         "[close=<date>] [currency=CNY]")
STAGE_WORDS = {s: s for s in DEAL_STAGES} | {"线索": "lead", "合格": "qualified", "报价": "proposal", "提案": "proposal",
                                             "谈判": "negotiation", "赢单": "won", "成交": "won", "输单": "lost", "丢单": "lost",
                                             "win": "won", "lose": "lost", "closed-won": "won", "closed-lost": "lost"}
OPTIONS = {"close", "title", "currency", "new", "stage", "amount"}


def parse_amount(text: str) -> float | None:
    """The amount alone (campaign budgets): see ``crm.i18n.parse_money``."""
    money = parse_money(text)
    return None if money is None else money.amount


def near_stage(word: str) -> str | None:
    """The stage a misspelt word was meant to be ("negotation" → negotiation), or None."""
    word = word.lower()
    if len(word) < 4 or not word.isascii():
        return None
    close = difflib.get_close_matches(word, DEAL_STAGES, n=1, cutoff=0.8)
    return close[0] if close else None


@command("deal", usage=USAGE, summary="open a deal, or update or close the customer's open deal", group="Deals",
         permission="customer.edit",
         examples=["deal globex 12000 proposal", "deal globex 15k negotiation close=dec 15", "deal 王伟 5万 报价 年度合同",
                   "deal #12 won", "deal #12 stage=negotiation close=end of month"])
def deal(ctx) -> Reply:
    _join_spaced_date(ctx, ("close=", "成交日期=", "预计成交=", "关闭=", "截止="))  # input words
    options = ctx.command.take_options(OPTIONS, USAGE)
    tokens = ctx.command.tokens
    if not tokens:
        raise ctx.fail(ctx.t("Tell me the customer and the amount, e.g. `/crm deal globex 12000 proposal`."))
    customer = ctx.customer(tokens[0].value, quoted=tokens[0].quoted)
    amount = currency = stage = None
    used = 1
    # amount, currency code and stage may come in any order right after the customer
    while used < len(tokens) and not tokens[used].quoted:
        word = tokens[used].value
        if amount is None and (money := parse_money(word)) is not None:
            amount, currency = money.amount, money.currency or currency
        elif currency is None and _currency_word(word):
            currency = _currency_word(word)
        elif stage is None and word.lower() in STAGE_WORDS:
            stage = STAGE_WORDS[word.lower()]
        else:
            break
        used += 1
    if "amount" in options:
        money = parse_money(options["amount"])
        if money is None:
            raise ctx.fail(_not_amount(ctx, options["amount"]))
        amount, currency = money.amount, money.currency or currency
    if "stage" in options:
        word = options["stage"].strip().lower()
        if word not in STAGE_WORDS:
            raise ctx.fail(_unknown_stage(ctx, word))
        stage = STAGE_WORDS[word]
    if used < len(tokens) and stage is None and (guess := near_stage(tokens[used].value)):
        raise ctx.fail(_unknown_stage(ctx, tokens[used].value))
    if amount is not None and (amount < 0 or amount > 1e12):
        raise ctx.fail(_not_amount(ctx, tokens[1].value))
    if "currency" in options:
        code = currency_code(options["currency"])
        if code is None:
            raise ctx.fail(ctx.t("currency= takes a currency such as USD, EUR, CNY (or ¥, €, 元)."))
        currency = code
    title = options.get("title") or ctx.command.rest_after(used)
    close = None
    if options.get("close"):
        close_at = ctx.when(options["close"], prefer="future")[0]
        if close_at is None:
            raise ctx.fail(ctx.t("close= needs a date, e.g. close=2026-12-15 or close=“end of month”."))
        close = close_at.date()
    ctx.require("customer.edit", customer)
    open_deals = open_deals_of(ctx.session, customer)
    wants_new = options.get("new", "").lower() in ("yes", "y", "true", "1", "是")
    if open_deals and not wants_new and len(open_deals) == 1:
        row, created = open_deals[0], False
        before = {"amount": row.amount, "currency": row.currency, "stage": row.stage, "title": row.title or None}
        change_deal(ctx.session, row, customer=customer, now=ctx.now, amount=amount, currency=currency, stage=stage,
                    title=title, expected_close=close)
    elif len(open_deals) > 1 and not wants_new and amount is None:
        raise ctx.fail(ctx.t("{who} has {n} open deals; say which by its amount, or open another with new=yes.",
                             who=customer.name, n=len(open_deals)))
    else:
        if amount is None:
            if stage in ("won", "lost"):
                raise ctx.fail(ctx.t("{who} has no open deal to close. Open one with an amount, e.g. "
                                     "`/crm deal #{id} 12000 proposal`.",
                                     who=customer.name, id=customer.id))
            word = tokens[1].value[:30] if len(tokens) > 1 else ""
            raise ctx.fail(_not_amount(ctx, word) if word else ctx.t(
                "Tell me the customer and the amount, e.g. `/crm deal #{id} 12000 proposal`.", id=customer.id))
        row, created, before = open_deal(ctx.session, customer=customer, opened_by=ctx.actor, now=ctx.now,
                                         amount=amount, currency=currency or ctx.settings.crm_currency, stage=stage,
                                         title=title, expected_close=close), True, None
    after = {"amount": row.amount, "currency": row.currency, "stage": row.stage, "title": row.title or None}
    ctx.audit("deal.create" if created else "deal.update", customer, deal_id=row.id, amount=row.amount,
              currency=row.currency, stage=row.stage,
              before={k: v for k, v in (before or {}).items() if v != after.get(k)} or None)
    if row.stage in ("won", "lost") and not created:
        verb = ctx.t("Closed") if row.stage == "lost" else ctx.pt("deal outcome", "Won")
    elif created:
        verb = ctx.t("Opened another") if open_deals else ctx.t("Opened")
    else:
        verb = ctx.t("Updated")
    reply = Reply(text=ctx.t("{verb} deal #{id}: {money} · {stage} — {who}",
                             verb=verb, id=row.id, money=ctx.money(row.amount, row.currency),
                             stage=stage_label(row.stage, ctx.lang), who=customer_label(ctx.session, customer, ctx.lang)),
                  fields=[(ctx.t("Title"), row.title or "—"),
                          (ctx.t("Expected close"), ctx.fmt_date(row.expected_close))])
    if row.stage in OPEN_DEAL_STAGES:
        reply.buttons = [Button(ctx.pt("deal button", "Won"), f"deal #{customer.id} won", style="primary"),
                         Button(ctx.t("Lost"), f"deal #{customer.id} lost", style="danger",
                                confirm=ctx.t("Mark this deal as lost?"))]
    return reply


COMMON_CODES = {"usd", "eur", "gbp", "cny", "rmb", "jpy", "hkd", "aud", "cad", "sgd", "chf", "krw", "inr", "twd"}


def _currency_word(word: str) -> str | None:
    """A currency typed as a word of its own ("RMB 50000", "12000 usd"). Lower-case three-letter
    words count only for common codes, so a title such as "all modules" is not Albanian lek."""
    if word.isascii() and word.isalpha() and word.lower() == word and word not in COMMON_CODES:
        return None
    return currency_code(word)


MAX_DATE_WORDS = 5


def _join_spaced_date(ctx, keys: tuple[str, ...]) -> None:
    """`close=end of month`, `close=dec 15` typed without quotes: the words after `close=` that still
    make one date belong to it (the longest run that reads whole as a date), not to the title."""
    command, tokens = ctx.command, ctx.command.tokens
    for i, tok in enumerate(tokens):
        if tok.quoted or not tok.value.lower().startswith(keys):
            continue
        value = tok.value.split("=", 1)[1]
        best = 0
        for extra in range(1, MAX_DATE_WORDS + 1):
            if i + extra >= len(tokens) or tokens[i + extra].quoted or "=" in tokens[i + extra].value:
                break
            phrase = " ".join([value] + [t.value for t in tokens[i + 1:i + extra + 1]])
            when, rest = ctx.when(phrase, prefer="future")
            if when is not None and not rest.strip(" ,.;"):
                best = extra
        if best:
            last = tokens[i + best]
            command.tokens = tokens[:i] + [Token(command.text[tok.start:last.end], tok.start, last.end)] \
                + tokens[i + best + 1:]
        return


def _not_amount(ctx, word: str) -> str:
    return ctx.t("“{a}” is not an amount. Use digits like 12000, 12,000, 12k, $12,000, ¥50000 or 5万.", a=word[:30])


def _unknown_stage(ctx, word: str) -> str:
    guess = near_stage(word)
    stages = ", ".join(DEAL_STAGES)
    if guess:
        return ctx.t("“{w}” is not a stage — did you mean {g}? Nothing was changed. Stages: {s}.", w=word[:30], g=guess, s=stages)
    return ctx.t("“{w}” is not a stage. Stages: {s}.", w=word[:30], s=stages)
