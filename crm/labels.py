"""The words for the store's fixed values (deal and customer stages, tiers, interaction kinds and
directions) as staff read them. The English word is the stored value; Chinese comes from the catalogue
(crm/i18n.py), each under its own context so "note" the kind and "Note" the heading never clash."""
from __future__ import annotations

from crm.i18n import NP_, pgettext

# listed so Babel's extractor (and the catalogue test) sees every value; the context is the table's
STAGES = (NP_("stage", "lead"), NP_("stage", "prospect"), NP_("stage", "active"), NP_("stage", "churned"),
          NP_("stage", "qualified"), NP_("stage", "proposal"), NP_("stage", "negotiation"), NP_("stage", "won"),
          NP_("stage", "lost"))
TIERS = (NP_("tier", "standard"), NP_("tier", "silver"), NP_("tier", "gold"), NP_("tier", "vip"))
KINDS = (NP_("interaction kind", "call"), NP_("interaction kind", "email"), NP_("interaction kind", "meeting"),
         NP_("interaction kind", "chat"), NP_("interaction kind", "note"), NP_("interaction kind", "message"))
DIRECTIONS = (NP_("direction", "inbound"), NP_("direction", "outbound"), NP_("direction", "internal"))
# how a customer's message was read (crm/understanding/intent.py): the intent, its tone, urgency
INTENTS = {"question": NP_("intent", "question"), "complaint": NP_("intent", "problem / complaint"),
           "purchase": NP_("intent", "purchase intent"), "cancellation": NP_("intent", "cancellation / churn risk"),
           "thanks": NP_("intent", "thanks"), "other": NP_("intent", "other")}
SENTIMENTS = (NP_("sentiment", "negative"), NP_("sentiment", "positive"), NP_("sentiment", "neutral"),
              NP_("urgency", "urgent"))


def _label(context: str, value: str | None, lang: str) -> str:
    if not value:
        return "—"
    return pgettext(lang, context, value)


def stage_label(stage: str | None, lang: str) -> str:
    return _label("stage", stage, lang)


def tier_label(tier: str | None, lang: str) -> str:
    return _label("tier", tier, lang)


def kind_label(kind: str | None, lang: str) -> str:
    return _label("interaction kind", kind, lang)


def direction_label(direction: str | None, lang: str) -> str:
    return _label("direction", direction, lang)


def intent_label(intent: str | None, lang: str) -> str:
    """"purchase intent", "购买意向"; an intent no table knows is shown as stored."""
    if intent in INTENTS:
        return pgettext(lang, "intent", INTENTS[intent])
    return intent or "—"


def sentiment_label(sentiment: str | None, lang: str) -> str:
    return _label("sentiment", sentiment, lang)


def urgent_label(lang: str) -> str:
    return pgettext(lang, "urgency", "urgent")
