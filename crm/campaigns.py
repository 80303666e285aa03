"""Campaigns in the store: who a segment reaches, the recipient rows, and what the campaign achieved.

A segment is a line of ``key=value`` filters (``tier=vip stage=active tags=renewal``). Different
keys must all hold; a comma inside a value means any of them (``tier=vip,gold``). ``all`` is
every customer. Whatever the segment says, a campaign only reaches customers who can and may
be reached: a bound Telegram chat, no marketing opt-out (``/stop``), the bot not blocked, not
erased.

Replies are attributed at report time, last touch: an inbound Telegram message belongs to
the most recent campaign message the customer received before it, provided it came before
that campaign's end. So a reply counts for one campaign at most, and nothing has to be
tagged when the message arrives.

Nothing here imports a chat SDK; sending lives in ``crm/campaign_sender.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, func, insert, literal, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crm.customers import resolve_staff
from crm.errors import UserError
from crm.models import CUSTOMER_STAGES, TIERS, Campaign, CampaignRecipient, Company, Customer, Deal, Interaction
from crm.words import tokenize

SEGMENT_KEYS = {
    "tier": "customer tier: " + "|".join(TIERS),
    "stage": "customer stage: " + "|".join(CUSTOMER_STAGES),
    "tags": "a tag the customer carries",
    "language": "the customer's language: en|zh",
    "owner": "the customer's owner: @name or email",
    "company": "company name",
}
LANGUAGES = ("en", "zh")
EVERYONE = "all"
DEAL_WINDOW = timedelta(days=30)
MAX_MESSAGE = 4000  # Telegram's limit is 4096 characters; the opt-out line needs the rest
STOP_LINE = {"en": "Reply /stop to receive no more of these messages.",
             "zh": "回复 /stop 即可不再接收此类消息。"}
FINAL_STATUSES = ("sent", "failed", "blocked", "skipped", "unknown")


class CampaignError(UserError):
    """Bad campaign input, in both languages: handlers pick the asker's."""

    def __init__(self, en: str, zh: str):
        super().__init__(en)
        self.zh = zh


# ---------------------------------------------------------------- segments


@dataclass(frozen=True)
class Segment:
    text: str  # as the user wrote it, kept on the campaign and parsed again when it is used
    tiers: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    owner_ids: tuple[int, ...] = ()
    company_ids: tuple[int, ...] = ()

    def conditions(self) -> list:
        """SQL conditions on Customer: every key must hold, any value of a key will do."""
        conds = [col(Customer.forgotten_at).is_(None)]
        if self.tiers:
            conds.append(col(Customer.tier).in_(self.tiers))
        if self.stages:
            conds.append(col(Customer.stage).in_(self.stages))
        if self.languages:
            conds.append(col(Customer.language).in_(self.languages))
        if self.owner_ids:
            conds.append(col(Customer.owner_id).in_(self.owner_ids))
        if self.company_ids:
            conds.append(col(Customer.company_id).in_(self.company_ids))
        if self.tags:
            # tags are stored as typed ("renewal, upsell"): compare them as ",renewal,upsell,"
            padded = literal(",") + func.replace(func.lower(Customer.tags), " ", "") + literal(",")
            conds.append(or_(*[padded.like(f"%,{_escape_like(tag)},%", escape="\\") for tag in self.tags]))
        return conds


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _values(key: str, raw: str) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values:
        raise CampaignError(f"`{key}=` needs a value, e.g. {key}={_example(key)}.",
                            f"`{key}=` 需要一个值，例如 {key}={_example(key)}。")
    return values


def _example(key: str) -> str:
    return {"tier": "vip", "stage": "active", "tags": "renewal", "language": "zh", "owner": "@alice",
            "company": "Globex"}[key]


def _choose(key: str, values: list[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    picked = []
    for value in values:
        if value.lower() not in allowed:
            raise CampaignError(f"`{key}={value}` is not a {key}; use one of: {', '.join(allowed)}.",
                                f"`{key}={value}` 无效；可选值：{', '.join(allowed)}。")
        picked.append(value.lower())
    return tuple(dict.fromkeys(picked))


def parse_segment(session: Session, text: str) -> Segment:
    """``tier=vip stage=active tags=renewal language=zh owner=@alice company=Globex``, or ``all``."""
    text = " ".join((text or "").split())
    if not text:
        raise CampaignError("Say who the campaign is for: segment=\"tier=vip stage=active\", or segment=all "
                            "for every customer who may be messaged.",
                            "请指定受众：segment=\"tier=vip stage=active\"，或 segment=all 表示所有可联系的客户。")
    if text.lower() == EVERYONE:
        return Segment(text=EVERYONE)
    found: dict[str, tuple] = {}
    try:
        tokens = tokenize(text)
    except UserError as exc:
        raise CampaignError(f"The segment is not readable: {exc.message}", "受众条件无法解析：引号没有闭合。") from None
    for token in tokens:
        key, sep, raw = token.value.partition("=")
        key = key.strip().lower()
        if token.quoted or not sep or key not in SEGMENT_KEYS:
            allowed = "; ".join(f"{k} ({v})" for k, v in SEGMENT_KEYS.items())
            raise CampaignError(f"I can't use “{token.value[:40]}” in a segment. Filters are key=value with these "
                                f"keys: {allowed}. Example: segment=\"tier=vip stage=active\".",
                                f"受众条件“{token.value[:40]}”无效。请使用 key=value，可用的键：{', '.join(SEGMENT_KEYS)}。"
                                "例如 segment=\"tier=vip stage=active\"。")
        if key in found:
            raise CampaignError(f"`{key}=` appears twice; list several values with commas, e.g. {key}=a,b.",
                                f"`{key}=` 出现了两次；多个值请用逗号分隔，例如 {key}=a,b。")
        raw = raw.strip().strip("\"'")
        values = _values(key, raw)
        if key == "tier":
            found[key] = _choose(key, values, TIERS)
        elif key == "stage":
            found[key] = _choose(key, values, CUSTOMER_STAGES)
        elif key == "language":
            found[key] = _choose(key, values, LANGUAGES)
        elif key == "tags":
            found[key] = tuple(dict.fromkeys(v.lower().replace(" ", "") for v in values))
        elif key == "owner":
            ids = []
            for value in values:
                try:
                    ids.append(resolve_staff(session, value).id)
                except UserError:
                    raise CampaignError(f"`owner={value}`: no colleague by that name. Use @name or their email.",
                                        f"`owner={value}`：找不到这位同事。请用 @姓名 或邮箱。") from None
            found[key] = tuple(dict.fromkeys(ids))
        elif key == "company":
            ids = []
            for value in values:
                company = session.exec(select(Company).where(func.lower(Company.name) == value.lower())).first()
                if company is None:
                    raise CampaignError(f"`company={value}`: no company by that name. Quote names with spaces: "
                                        f"company='Globex Corp'.",
                                        f"`company={value}`：找不到该公司。含空格的名称请加引号：company='Globex Corp'。")
                ids.append(company.id)
            found[key] = tuple(dict.fromkeys(ids))
    return Segment(text=text, tiers=found.get("tier", ()), stages=found.get("stage", ()),
                   tags=found.get("tags", ()), languages=found.get("language", ()),
                   owner_ids=found.get("owner", ()), company_ids=found.get("company", ()))


# ---------------------------------------------------------------- audience


def reachable_conditions() -> list:
    """Who a campaign may message at all."""
    return [col(Customer.telegram_chat_id).is_not(None), col(Customer.marketing_opt_out).is_(False),
            col(Customer.telegram_blocked).is_(False), col(Customer.forgotten_at).is_(None)]


@dataclass
class Audience:
    matching: int  # customers the segment describes
    reachable: int
    no_telegram: int
    opted_out: int  # with a chat, but said /stop
    blocked: int  # with a chat and consent, but the bot is blocked


def audience(session: Session, segment: Segment) -> Audience:
    """Counts in one query; each excluded customer is counted once, by the first reason that applies."""
    no_chat = col(Customer.telegram_chat_id).is_(None)
    opted = and_(~no_chat, col(Customer.marketing_opt_out).is_(True))
    blocked = and_(~no_chat, col(Customer.marketing_opt_out).is_(False), col(Customer.telegram_blocked).is_(True))
    row = session.exec(select(func.count(),
                              func.coalesce(func.sum(case((no_chat, 1), else_=0)), 0),
                              func.coalesce(func.sum(case((opted, 1), else_=0)), 0),
                              func.coalesce(func.sum(case((blocked, 1), else_=0)), 0))
                       .select_from(Customer).where(*segment.conditions())).one()
    matching, no_telegram, opted_out, blocked_n = (int(v) for v in row)
    return Audience(matching, matching - no_telegram - opted_out - blocked_n, no_telegram, opted_out, blocked_n)


def sample(session: Session, segment: Segment, limit: int = 5) -> list[Customer]:
    return list(session.exec(select(Customer).where(*segment.conditions(), *reachable_conditions())
                             .order_by(Customer.id).limit(limit)).all())


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


# ---------------------------------------------------------------- attribution and report


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
