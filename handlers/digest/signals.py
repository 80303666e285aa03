"""The digest's "Customer signals": who complained, wants to leave or wants to buy (crm/message_reading.py).

For a personal digest, the recipient's own customers; for a manager's, their team's. Messages of
the last two days, most serious first, each quoted, with buttons to look and to plan a follow-up.
"""
from __future__ import annotations

from datetime import timedelta

from bot.replies import Button, Item, Section
from crm.i18n import N_
from crm.message_reading import signals_for

ICONS = {"cancellation": "🚪", "complaint": "⚠️", "purchase": "🛒"}
WORDS = {"cancellation": N_("cancellation signal"), "complaint": N_("complaint"), "purchase": N_("ready to buy")}


def customer_signals_section(session, data, voice) -> Section | None:
    owner_ids = [p.id for p in data.people]
    signals = signals_for(session, owner_ids, voice.now - timedelta(days=2))
    if not signals:
        return None
    items = []
    for s in signals:
        text = f"{ICONS[s.intent]} {s.customer} — {voice.t(WORDS[s.intent])}: “{s.quote}”"
        buttons = [Button(voice.t("Show"), f"show #{s.customer_id}"),
                   Button(voice.t("Follow up…"), f"remind #{s.customer_id}", form="remind")]
        items.append(Item(text, buttons))
    return Section(voice.t("Customer signals from their messages"), items=items)
