"""What a handler gets: the session for this unit of work, who is asking, and helpers."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
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
from crm.i18n import LOCALES, Speaks, day_with_weekday, format_money, full_date
from crm.models import Customer, Staff

def format_moment(moment: datetime | None, tz, lang: str, this_year: int, with_time: bool = True) -> str:
    """A moment as staff read it, in their zone and language: "Mon 23 Nov 15:00", "11月23日 周一 15:00"."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    day = day_with_weekday(local.date(), lang, with_year=lang != "zh" and local.year != this_year)
    return f"{day} {local:%H:%M}" if with_time else day


@dataclass
class Context(Speaks):
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
        """The staff member's own setting, else the business's: never guessed from the script typed,
        so an English-speaking rep who types 王伟 still reads English."""
        if self.actor.language in ("en", "zh"):
            return self.actor.language
        return self.settings.crm_language

    def money(self, amount: float, currency: str | None = None) -> str:
        return format_money(amount, currency or self.settings.crm_currency, self.lang)

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

    def no_such_date(self, text: str) -> str | None:
        """What is wrong when ``text`` names a day the calendar lacks ("February has no 31st"), else None."""
        from bot.dates import impossible_date

        found = impossible_date(text)
        if found is None:
            return None
        year, month, day = found
        last = calendar.monthrange(year or 2023, month)[1]  # 2023: not a leap year, so a day every year has
        if self.lang == "zh":
            from babel.dates import format_skeleton

            zh = LOCALES["zh"]
            named = format_skeleton("yMMM" if year else "MMM", date(year or 2023, month, 1), locale=zh)
            nth = format_skeleton("d", date(2023, 1, day), locale=zh)  # January has every day number
            example = format_skeleton("yMMMd" if year else "MMMd", date(year or 2023, month, last), locale=zh)
        else:
            suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
            named, nth = calendar.month_name[month] + (f" {year}" if year else ""), f"{day}{suffix}"
            example = f"{last} {named}"
        return self.t("{named} has no {nth}. Pick a date that exists, e.g. “{example}”.",
                      named=named, nth=nth, example=example)

    def fmt(self, moment: datetime | None, with_time: bool = True) -> str:
        return format_moment(moment, self.tz, self.lang, self.local_now.year, with_time)

    def fmt_date(self, day) -> str:
        """A calendar date: "15 Dec 2026", "2026年12月15日"."""
        if day is None:
            return "—"
        return full_date(day, self.lang)
