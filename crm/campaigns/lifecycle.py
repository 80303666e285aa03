"""A campaign's life in the store: its message per language, confirming it (draft → sending), recipient rows.

Nothing here imports a chat SDK; sending lives in ``crm.campaigns.sender``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, insert, literal, update
from sqlmodel import Session, select

from crm.campaigns.segments import Segment, reachable_conditions
from crm.i18n import gettext
from crm.models import Campaign, CampaignRecipient, Customer, Staff

MAX_MESSAGE = 4000  # Telegram's limit is 4096 characters; the opt-out line needs the rest
# the opt-out line in each language a campaign is written in (the catalogue's, read once)
STOP_LINE = {lang: gettext(lang, "Reply /stop to receive no more of these messages.") for lang in ("en", "zh")}
FINAL_STATUSES = ("sent", "failed", "blocked", "skipped", "unknown")


def materialise(session: Session, campaign: Campaign, segment: Segment) -> int:
    """One pending row per reachable customer, in one INSERT … SELECT; repeats add nobody twice."""
    already = select(CampaignRecipient.id).where(CampaignRecipient.campaign_id == campaign.id,
                                                 CampaignRecipient.customer_id == Customer.id)
    chosen = (select(literal(campaign.id), Customer.id, literal("pending"), literal(0))
              .where(*segment.conditions(), *reachable_conditions(), ~exists(already)))
    def rows() -> int:
        return session.exec(select(func.count()).select_from(CampaignRecipient)
                            .where(CampaignRecipient.campaign_id == campaign.id)).one()

    # counted, not taken from rowcount: drivers disagree on it for INSERT … SELECT
    before = rows()
    session.exec(insert(CampaignRecipient).from_select(["campaign_id", "customer_id", "status", "attempts"], chosen))
    return rows() - before


def message_for(campaign: Campaign, language: str) -> str:
    """The customer's language, the other one when that is empty; with the opt-out line."""
    lang = "zh" if language == "zh" else "en"
    first, second = (campaign.message_zh, campaign.message_en) if lang == "zh" else (campaign.message_en,
                                                                                    campaign.message_zh)
    if not first.strip():
        lang = "en" if lang == "zh" else "zh"
    text = first if first.strip() else second
    return f"{text.strip()}\n\n{STOP_LINE[lang]}"


# ---------------------------------------------------------------- lifecycle in the store


def create_campaign(session: Session, *, name: str, segment: Segment, message_en: str, message_zh: str,
                    starts_at: datetime | None, ends_at: datetime | None, budget: float, created_by: Staff,
                    now: datetime) -> Campaign:
    """A draft: nothing is sent until a manager confirms it (``begin_sending``)."""
    campaign = Campaign(name=name, segment=segment.text, message_en=message_en, message_zh=message_zh,
                        starts_at=starts_at, ends_at=ends_at, budget=budget, created_by_id=created_by.id,
                        created_at=now)
    session.add(campaign)
    session.flush()
    return campaign


def find_campaign(session: Session, name: str) -> Campaign | None:
    name = " ".join(name.split())
    if name.startswith("#") and name[1:].isdigit():
        return session.get(Campaign, int(name[1:]))
    return session.exec(select(Campaign).where(func.lower(Campaign.name) == name.lower())).first()


def begin_sending(session: Session, campaign: Campaign, segment: Segment, now: datetime) -> int | None:
    """draft → sending, and the recipient rows, in the caller's transaction.

    The status change is a compare-and-set: two managers confirming at the same moment (or a
    double click) materialise the audience once; the loser gets None.
    """
    moved = session.exec(update(Campaign).where(Campaign.id == campaign.id, Campaign.status == "draft")
                         .values(status="sending", sent_at=now))
    if moved.rowcount != 1:
        return None
    count = materialise(session, campaign, segment)
    session.refresh(campaign)
    return count


def status_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.exec(select(CampaignRecipient.status, func.count()).where(
        CampaignRecipient.campaign_id == campaign_id).group_by(CampaignRecipient.status)).all()
    return {status: int(n) for status, n in rows}
