"""A recommendation's or risk's reasons as short phrases for people, English or Chinese."""
from __future__ import annotations

from crm.i18n import count, gettext, list_of, money_totals, pgettext
from crm.labels import stage_label


def reason_kinds(reasons: list[dict]) -> str:
    return ",".join(r["kind"] for r in reasons)[:200]


def describe(reason: dict, lang: str = "en") -> str:
    """One reason as a short phrase for people."""
    k = reason["kind"]
    if k == "silent":
        return count(lang, reason["days"], "no contact in {n} day", "no contact in {n} days")
    if k == "no_reply":
        return count(lang, reason["days"], "no reply from them in {n} day", "no reply from them in {n} days")
    if k == "few_touches":
        return count(lang, reason["count"], "only {n} touch in 90 days", "only {n} touches in 90 days")
    if k == "one_way":
        return gettext(lang, "one-way contact (only {share:.0%} of recent touches were replies)", share=reason["share"])
    if k == "ticket":
        return count(lang, reason["count"], "{n} unresolved ticket, oldest {days} days",
                     "{n} unresolved tickets, oldest {days} days", days=reason["days"])
    if k == "bad_rating":
        return count(lang, reason["count"], "{n} bad rating (≤2/5) in 6 months", "{n} bad ratings (≤2/5) in 6 months")
    if k == "stalled_deal":
        return gettext(lang, "deal stuck in {stage} for {days} days", stage=stage_label(reason["stage"], lang),
                       days=reason["days"])
    if k == "deal":
        # per currency, in Babel's CLDR formats as deals show them; a reason stored before deals had a
        # currency ("amount" only) gets no figure rather than a wrong one in dollars
        amounts = [(v, c) for c, v in (reason.get("amounts") or {}).items() if v]
        amount = money_totals(amounts, lang) if amounts else ""
        stage = stage_label(reason["stage"], lang)  # the reader's word for it, as the card and digest say it
        if reason["days"] >= 21:
            if amount:
                return gettext(lang, "{amount} deal in {stage} stage, no movement in {days} days", amount=amount,
                               stage=stage, days=reason["days"])
            return gettext(lang, "deal in {stage} stage, no movement in {days} days", stage=stage,
                           days=reason["days"])
        if amount:
            return gettext(lang, "{amount} deal open in {stage} stage", amount=amount, stage=stage)
        return gettext(lang, "deal open in {stage} stage", stage=stage)
    if k == "messages":
        return count(lang, reason["count"], "{n} Telegram message in 90 days", "{n} Telegram messages in 90 days")
    if k == "lost_deals":
        return count(lang, reason["count"], "{n} lost deal", "{n} lost deals")
    if k == "words":
        quoted = [gettext(lang, "“{word}”", word=w) for w in reason["words"]]
        return gettext(lang, "their conversations mention {words}",
                       words=pgettext(lang, "word list", ", ").join(quoted))
    if k == "risk":
        return gettext(lang, "risk {value:.2f}", value=reason["value"])
    if k == "tier":
        return gettext(lang, "{tier} account", tier=reason["tier"])
    if k == "signal":  # crm/message_reading.py: a complaint or cancellation signal in their messages
        return reason.get("text_zh" if lang == "zh" else "text", k)
    return k


def describe_all(reasons: list[dict], lang: str = "en", limit: int = 4) -> str:
    return list_of([describe(r, lang) for r in reasons[:limit]], lang)
