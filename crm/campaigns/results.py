"""What a campaign achieved: replies attributed to it, deals that followed, the report.

Replies are attributed at report time, last touch: an inbound Telegram message belongs to
the most recent campaign message the customer received before it, provided it came before
that campaign's end. So a reply counts for one campaign at most, and nothing has to be
tagged when the message arrives.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm.campaigns.lifecycle import status_counts
from crm.models import Campaign, CampaignRecipient, Deal, Interaction

DEAL_WINDOW = timedelta(days=30)


def _later_campaign_message(reply_at, customer_id, sent_at):
    """A newer campaign message to the same customer, before the reply and still in its window."""
    other = aliased(CampaignRecipient)
    other_campaign = aliased(Campaign)
    return exists(select(other.id).join(other_campaign, other_campaign.id == other.campaign_id).where(
        other.customer_id == customer_id, other.status == "sent", other.sent_at > sent_at,
        other.sent_at <= reply_at, or_(col(other_campaign.ends_at).is_(None), other_campaign.ends_at >= reply_at)))


def _attributed_replies(campaign: Campaign):
    """(customer id, reply time) of inbound Telegram messages this campaign earned."""
    r = CampaignRecipient
    conds = [r.campaign_id == campaign.id, r.status == "sent", Interaction.customer_id == r.customer_id,
             Interaction.direction == "inbound", Interaction.channel == "telegram",
             Interaction.occurred_at >= r.sent_at,
             ~_later_campaign_message(Interaction.occurred_at, r.customer_id, r.sent_at)]
    if campaign.ends_at is not None:
        conds.append(Interaction.occurred_at <= campaign.ends_at)
    return select(r.customer_id, Interaction.occurred_at).select_from(r).join(
        Interaction, Interaction.customer_id == r.customer_id).where(*conds)


def campaign_for_reply(session: Session, customer_id: int, at: datetime) -> int | None:
    """The campaign an inbound message at ``at`` answers (last touch), if any: for tagging at write time."""
    row = session.exec(select(CampaignRecipient.campaign_id).join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
                       .where(CampaignRecipient.customer_id == customer_id, CampaignRecipient.status == "sent",
                              CampaignRecipient.sent_at <= at,
                              or_(col(Campaign.ends_at).is_(None), Campaign.ends_at >= at))
                       .order_by(col(CampaignRecipient.sent_at).desc()).limit(1)).first()
    return row


@dataclass
class CampaignReport:
    campaign: Campaign
    recipients: int  # rows materialised when sending was confirmed
    statuses: dict[str, int]
    attempted: int  # handed to Telegram: delivered + blocked + failed + unknown
    delivered: int  # accepted by Telegram (a message id came back)
    replied: int  # customers with at least one attributed reply
    replies: int  # attributed messages
    deals: int  # deals opened by delivered customers within 30 days of their message
    deal_amount: float  # all currencies added up: a size, never shown (see deal_amounts)
    replies_by_day: list[tuple[date, int]] = field(default_factory=list)  # first replies per day
    deal_amounts: dict[str, float] = field(default_factory=dict)  # those deals' amounts per currency

    @property
    def pending(self) -> int:
        return self.statuses.get("pending", 0) + self.statuses.get("sending", 0)

    @property
    def cost_per_reply(self) -> float | None:
        return self.campaign.budget / self.replied if self.replied else None

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.delivered if self.delivered else None


def report(session: Session, campaign: Campaign) -> CampaignReport:
    statuses = status_counts(session, campaign.id)
    recipients = sum(statuses.values())
    delivered = statuses.get("sent", 0)
    attempted = delivered + statuses.get("blocked", 0) + statuses.get("failed", 0) + statuses.get("unknown", 0)
    replies = session.exec(_attributed_replies(campaign)).all()
    first_reply: dict[int, datetime] = {}
    for customer_id, at in replies:
        if customer_id not in first_reply or at < first_reply[customer_id]:
            first_reply[customer_id] = at
    by_day: dict[date, int] = {}
    for at in first_reply.values():
        by_day[at.date()] = by_day.get(at.date(), 0) + 1
    r = CampaignRecipient
    deal_rows = session.exec(select(Deal.id, Deal.amount, Deal.created_at, r.sent_at, Deal.currency).join(
        r, r.customer_id == Deal.customer_id).where(r.campaign_id == campaign.id, r.status == "sent",
                                                   Deal.created_at >= r.sent_at)).all()
    deals = {deal_id: (amount, currency) for deal_id, amount, created, sent, currency in deal_rows
             if created - sent <= DEAL_WINDOW}
    per_currency: dict[str, float] = {}
    for amount, currency in deals.values():
        per_currency[currency] = per_currency.get(currency, 0.0) + float(amount or 0)
    return CampaignReport(campaign=campaign, recipients=recipients, statuses=statuses, attempted=attempted,
                          delivered=delivered, replied=len(first_reply), replies=len(replies), deals=len(deals),
                          deal_amount=float(sum(a or 0 for a, _ in deals.values())),
                          replies_by_day=sorted(by_day.items()), deal_amounts=per_currency)
