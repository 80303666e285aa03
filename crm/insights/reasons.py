"""A recommendation's or risk's reasons as short phrases for people, English or Chinese."""
from __future__ import annotations

from crm.i18n import money_totals


def reason_kinds(reasons: list[dict]) -> str:
    return ",".join(r["kind"] for r in reasons)[:200]


def describe(reason: dict, lang: str = "en") -> str:
    """One reason as a short phrase for people."""
    k = reason["kind"]
    zh = lang == "zh"
    if k == "silent":
        return f"已 {reason['days']} 天未联系" if zh else f"no contact in {reason['days']} days"
    if k == "no_reply":
        return f"对方 {reason['days']} 天未回复" if zh else f"no reply from them in {reason['days']} days"
    if k == "few_touches":
        return f"90 天内仅 {reason['count']} 次接触" if zh else f"only {reason['count']} touches in 90 days"
    if k == "one_way":
        return f"单向联系（对方回复仅占 {reason['share']:.0%}）" if zh else \
            f"one-way contact (only {reason['share']:.0%} of recent touches were replies)"
    if k == "ticket":
        return f"{reason['count']} 个未解决工单，最久 {reason['days']} 天" if zh else \
            f"{reason['count']} unresolved ticket{'s' if reason['count'] != 1 else ''}, oldest {reason['days']} days"
    if k == "bad_rating":
        return f"半年内 {reason['count']} 次差评（≤2/5）" if zh else \
            f"{reason['count']} bad rating{'s' if reason['count'] != 1 else ''} (≤2/5) in 6 months"
    if k == "stalled_deal":
        return f"{reason['stage']} 阶段的商机已停滞 {reason['days']} 天" if zh else \
            f"deal stuck in {reason['stage']} for {reason['days']} days"
    if k == "deal":
        # per currency, in Babel's CLDR formats as deals show them; a reason stored before deals had a
        # currency ("amount" only) gets no figure rather than a wrong one in dollars
        amounts = [(v, c) for c, v in (reason.get("amounts") or {}).items() if v]
        amount = f" {money_totals(amounts, lang)} " if amounts else ""
        if reason["days"] >= 21:
            return f"{reason['stage']} 阶段商机{amount}已 {reason['days']} 天无进展" if zh else \
                f"{amount.strip() + ' ' if amount else ''}deal in {reason['stage']} stage, no movement in {reason['days']} days"
        return f"{reason['stage']} 阶段商机{amount}进行中" if zh else \
            f"{amount.strip() + ' ' if amount else ''}deal open in {reason['stage']} stage"
    if k == "messages":
        return f"90 天内 {reason['count']} 条 Telegram 消息" if zh else f"{reason['count']} Telegram messages in 90 days"
    if k == "lost_deals":
        return f"{reason['count']} 个输单" if zh else f"{reason['count']} lost deal{'s' if reason['count'] != 1 else ''}"
    if k == "words":
        words = "、".join(reason["words"]) if zh else ", ".join(f"“{w}”" for w in reason["words"])
        return f"对话中提到 {words}" if zh else f"their conversations mention {words}"
    if k == "risk":
        return f"流失风险 {reason['value']:.2f}" if zh else f"risk {reason['value']:.2f}"
    if k == "tier":
        return f"{reason['tier']} 客户" if zh else f"{reason['tier']} account"
    if k == "signal":  # crm/message_reading.py: a complaint or cancellation signal in their messages
        return reason.get("text_zh" if zh else "text", k)
    return k


def describe_all(reasons: list[dict], lang: str = "en", limit: int = 4) -> str:
    return ("，" if lang == "zh" else ", ").join(describe(r, lang) for r in reasons[:limit])
