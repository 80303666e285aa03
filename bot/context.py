"""What a handler gets: the session for this unit of work, who is asking, and helpers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.errors import UserError
from bot.messages import IncomingMessage
from bot.parser import ParsedCommand
from bot.ports import Ports
from bot.registry import CommandSpec
from bot.roles import authorize
from bot.settings import Settings
from crm import audit
from crm.customers import resolve_customer
from crm.models import Customer, Staff

_CJK = re.compile(r"[\u3400-\u9fff]")
WEEKDAYS_ZH = "一二三四五六日"


def format_moment(moment: datetime | None, tz, lang: str, this_year: int, with_time: bool = True) -> str:
    """A moment as staff read it, in their zone and language: "Mon 23 Nov 15:00", "11月23日 周一 15:00"."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    if lang == "zh":
        day = f"{local.month}月{local.day}日 周{WEEKDAYS_ZH[local.weekday()]}"
    elif local.year != this_year:
        day = f"{local:%a %-d %b %Y}"
    else:
        day = f"{local:%a %-d %b}"
    return f"{day} {local:%H:%M}" if with_time else day


@dataclass
class Context:
    session: Session
    actor: Staff
    message: IncomingMessage
    command: ParsedCommand
    spec: CommandSpec
    settings: Settings
    now: datetime  # aware, UTC
    ports: Ports

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.actor.timezone or self.settings.crm_timezone)
        except Exception:
            return self.settings.zone

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.tz)

    @property
    def lang(self) -> str:
        if self.actor.language == "zh" or _CJK.search(self.message.text or ""):
            return "zh"
        return "en"

    def t(self, en: str, zh: str, **values) -> str:
        return (zh if self.lang == "zh" else en).format(**values)

    def fail(self, message: str) -> UserError:
        return UserError(message, self.spec.usage)

    def customer(self, ref: str, quoted: bool = False) -> Customer:
        return resolve_customer(self.session, ref, quoted=quoted)

    def require(self, permission: str, customer: Customer | None = None) -> None:
        authorize(self.session, self.actor, permission, customer)

    def audit(self, action: str, customer: Customer | None = None, **detail) -> None:
        audit.record(self.session, action, actor=self.actor, platform=self.message.platform,
                     customer_id=customer.id if customer else None, **detail)

    def when(self, text: str, prefer: str = "future"):
        """(datetime or None, the rest of the text) from natural language in the user's zone."""
        from bot.dates import extract_when

        return extract_when(text, now=self.local_now, prefer=prefer)

    def fmt(self, moment: datetime | None, with_time: bool = True) -> str:
        return format_moment(moment, self.tz, self.lang, self.local_now.year, with_time)
