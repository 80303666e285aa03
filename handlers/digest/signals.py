"""The digest's "Customer signals": who complained, wants to leave or wants to buy (crm/message_reading.py).

For a personal digest, the recipient's own customers; for a manager's, their team's. Messages of
the last two days, most serious first, each quoted, with buttons to look and to plan a follow-up.
"""
from __future__ import annotations

from datetime import timedelta

from bot.replies import Button, Item, Section
from crm.message_reading import signals_for

ICONS = {"cancellation": "🚪", "complaint": "⚠️", "purchase": "🛒"}
WORDS = {"cancellation": ("cancellation signal", "取消/流失信号"), "complaint": ("complaint", "投诉"),
         "purchase": ("ready to buy", "购买意向")}


def customer_signals_section(session, data, voice) -> Section | None:
    owner_ids = [p.id for p in data.people]
    signals = signals_for(session, owner_ids, voice.now - timedelta(days=2))
    if not signals:
        return None
    i = 1 if voice.lang == "zh" else 0
    items = []
    for s in signals:
        text = f"{ICONS[s.intent]} {s.customer} — {WORDS[s.intent][i]}: “{s.quote}”"
        buttons = [Button(voice.t("Show", "查看"), f"show #{s.customer_id}"),
                   Button(voice.t("Follow up…", "跟进…"), f"remind #{s.customer_id}", form="remind")]
        items.append(Item(text, buttons))
    return Section(voice.t("Customer signals from their messages", "客户消息中的信号"), items=items)
