"""Business hours (BUSINESS_HOURS on BUSINESS_DAYS, in CRM_TIMEZONE) and the out-of-office answer."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache

from crm.inbox.texts import WEEKDAYS, day_name, say


def _hhmm(value: str) -> time:
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


@lru_cache(maxsize=16)
def _window(business_hours: str) -> tuple[time, time]:
    """BUSINESS_HOURS ("09:00-18:00") parsed once per value: every stored customer message asks."""
    start, end = (_hhmm(p) for p in business_hours.split("-"))
    return start, end


def outside_business_hours(settings, moment: datetime) -> bool:
    """Whether ``moment`` falls outside BUSINESS_HOURS on BUSINESS_DAYS, in CRM_TIMEZONE."""
    local = moment.astimezone(settings.zone)
    days = settings.business_weekdays
    start, end = _window(settings.business_hours)
    day = WEEKDAYS[local.weekday()]
    now = local.time()
    if start <= end:
        return not (day in days and start <= now < end)
    # hours that cross midnight (22:00-06:00) belong to the day they started on
    if now >= start:
        return day not in days
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    return not (now < end and yesterday in days)


def out_of_office_text(settings, lang: str) -> str:
    days = [d for d in settings.business_weekdays if d in WEEKDAYS]
    label = ", ".join(day_name(d, lang) for d in days) if days else "—"
    return say("out_of_office", lang, days=label, hours=settings.business_hours, zone=settings.crm_timezone)
