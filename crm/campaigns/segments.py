"""Campaign segments: the ``key=value`` line that says who a campaign is for, and who it can reach.

A segment is a line of ``key=value`` filters (``tier=vip stage=active tags=renewal``). Different
keys must all hold; a comma inside a value means any of them (``tier=vip,gold``). ``all`` is
every customer. Whatever the segment says, a campaign only reaches customers who can and may
be reached: a bound Telegram chat, no marketing opt-out (``/stop``), the bot not blocked, not
erased.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, or_
from sqlmodel import Session, col, select

from crm.customers import resolve_staff
from crm.errors import UserError
from crm.models import CUSTOMER_STAGES, TIERS, Company, Customer
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


class CampaignError(UserError):
    """Bad campaign input: an English msgid with its values; the engine shows it in the asker's language."""

    @property
    def zh(self) -> str:
        return self.text("zh")


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
        raise CampaignError("`{key}=` needs a value, e.g. {key}={example}.", key=key, example=_example(key))
    return values


def _example(key: str) -> str:
    return {"tier": "vip", "stage": "active", "tags": "renewal", "language": "zh", "owner": "@alice",
            "company": "Globex"}[key]


def _choose(key: str, values: list[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    picked = []
    for value in values:
        if value.lower() not in allowed:
            raise CampaignError("`{key}={value}` is not a {key}; use one of: {allowed}.", key=key, value=value,
                                allowed=", ".join(allowed))
        picked.append(value.lower())
    return tuple(dict.fromkeys(picked))


def parse_segment(session: Session, text: str) -> Segment:
    """``tier=vip stage=active tags=renewal language=zh owner=@alice company=Globex``, or ``all``."""
    text = " ".join((text or "").split())
    if not text:
        raise CampaignError("Say who the campaign is for: segment=\"tier=vip stage=active\", or segment=all "
                            "for every customer who may be messaged.")
    if text.lower() == EVERYONE:
        return Segment(text=EVERYONE)
    found: dict[str, tuple] = {}
    try:
        tokens = tokenize(text)
    except UserError as exc:
        raise CampaignError("The segment is not readable: {problem}", problem=exc) from None
    for token in tokens:
        key, sep, raw = token.value.partition("=")
        key = key.strip().lower()
        if token.quoted or not sep or key not in SEGMENT_KEYS:
            allowed = "; ".join(f"{k} ({v})" for k, v in SEGMENT_KEYS.items())
            raise CampaignError("I can't use “{token}” in a segment. Filters are key=value with these keys: "
                                "{allowed}. Example: segment=\"tier=vip stage=active\".", token=token.value[:40],
                                allowed=allowed)
        if key in found:
            raise CampaignError("`{key}=` appears twice; list several values with commas, e.g. {key}=a,b.", key=key)
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
                    raise CampaignError("`owner={value}`: no colleague by that name. Use @name or their email.",
                                        value=value) from None
            found[key] = tuple(dict.fromkeys(ids))
        elif key == "company":
            ids = []
            for value in values:
                company = session.exec(select(Company).where(func.lower(Company.name) == value.lower())).first()
                if company is None:
                    raise CampaignError("`company={value}`: no company by that name. Quote names with spaces: "
                                        "company='Globex Corp'.", value=value)
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
