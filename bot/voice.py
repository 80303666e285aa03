"""How scheduled messages speak to one staff member: their language, their zone, their clock.

Handlers get this from ``Context``; digests and reminders have no incoming message, so they ask
the recipient's own settings instead.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.context import format_moment
from bot.settings import Settings
from crm.i18n import Speaks, day_with_weekday
from crm.models import Staff



def staff_zone(staff: Staff, settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(staff.timezone or settings.crm_timezone)
    except Exception:  # a bad zone typed into the store must not stop everyone's reminders
        return settings.zone


def staff_language(staff: Staff, settings: Settings) -> str:
    """Their own setting, else the business's: never guessed from the script they type."""
    return staff.language if staff.language in ("en", "zh") else settings.crm_language


def local_moment(day, hhmm: str, zone: ZoneInfo) -> datetime:
    """``day`` at ``hh:mm`` wall time in ``zone`` (a time skipped by DST lands just after the jump)."""
    hour, minute = (int(part) for part in hhmm.strip().split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


class Voice(Speaks):
    def __init__(self, staff: Staff, settings: Settings, now: datetime):
        self.staff = staff
        self.settings = settings
        self.now = now
        self.tz = staff_zone(staff, settings)
        self.lang = staff_language(staff, settings)

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.tz)

    @property
    def today(self):
        return self.local_now.date()

    def day_bounds(self, day) -> tuple[datetime, datetime]:
        """The UTC instants where the local ``day`` starts and ends (23 or 25 hours on DST days)."""
        start = datetime.combine(day, time(0), tzinfo=self.tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return start, end

    def fmt(self, moment: datetime | None, with_time: bool = True) -> str:
        return format_moment(moment, self.tz, self.lang, self.local_now.year, with_time)

    def day_label(self, day) -> str:
        return day_with_weekday(day, self.lang)
