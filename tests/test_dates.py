"""Tests for bot.dates.parse_when / extract_when.

The big table uses a fixed ``now``: Monday 2026-11-23 10:00 in Asia/Shanghai.
Calendar around it:  Fri 11-20 | Sat 21 | Sun 22 | *Mon 23* | Tue 24 | Wed 25 |
Thu 26 | Fri 27 | Sat 28 | Sun 29 | Mon 30 | Tue 12-01 | Fri 12-04 | Fri 12-11.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dates import extract_when, impossible_date, parse_when

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
LON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SH)

F, P = "future", "past"

# (phrase, prefer, expected local wall time in Asia/Shanghai)
CASES: list[tuple[str, str, str]] = [
    # --- the phrases from the issue ------------------------------------
    ("tomorrow 3pm", F, "2026-11-24 15:00"),
    ("tomorrow 3pm", P, "2026-11-24 15:00"),
    ("in 90 minutes", F, "2026-11-23 11:30"),
    ("friday 4pm", F, "2026-11-27 16:00"),
    ("friday 4pm", P, "2026-11-20 16:00"),
    ("jan 15", F, "2027-01-15 09:00"),
    ("jan 15", P, "2026-01-15 09:00"),
    ("end of month", F, "2026-11-30 09:00"),
    ("yesterday at 4pm", P, "2026-11-22 16:00"),
    ("yesterday at 4pm", F, "2026-11-22 16:00"),
    ("2 hours ago", P, "2026-11-23 08:00"),
    ("明天下午3点", F, "2026-11-24 15:00"),
    ("下周五下午2点", F, "2026-12-04 14:00"),
    ("3天后", F, "2026-11-26 09:00"),
    ("今晚8点", F, "2026-11-23 20:00"),
    ("月底", F, "2026-11-30 09:00"),
    ("昨天下午4点", P, "2026-11-22 16:00"),
    ("上周五", P, "2026-11-20 09:00"),
    ("上周五", F, "2026-11-20 09:00"),
    # --- English: relative days -----------------------------------------
    ("today", F, "2026-11-23 09:00"),
    ("today at 5pm", F, "2026-11-23 17:00"),
    ("tonight", F, "2026-11-23 20:00"),
    ("tonight at 9", F, "2026-11-23 21:00"),
    ("at 8 tonight", F, "2026-11-23 20:00"),
    ("tomorrow", F, "2026-11-24 09:00"),
    ("tomorrow", P, "2026-11-24 09:00"),
    ("Tomorrow", F, "2026-11-24 09:00"),
    ("tmrw 10am", F, "2026-11-24 10:00"),
    ("tomorrow at 10", F, "2026-11-24 10:00"),
    ("tomorrow at 3", F, "2026-11-24 15:00"),
    ("3pm tomorrow", F, "2026-11-24 15:00"),
    ("tomorrow 9:30am", F, "2026-11-24 09:30"),
    ("day after tomorrow", F, "2026-11-25 09:00"),
    ("the day after tomorrow at 2pm", F, "2026-11-25 14:00"),
    ("yesterday", P, "2026-11-22 09:00"),
    ("yesterday", F, "2026-11-22 09:00"),
    ("day before yesterday", P, "2026-11-21 09:00"),
    ("the day before yesterday at 11am", P, "2026-11-21 11:00"),
    # --- parts of the day -----------------------------------------------
    ("this morning", P, "2026-11-23 09:00"),
    ("this afternoon", F, "2026-11-23 14:00"),
    ("this afternoon at 3", F, "2026-11-23 15:00"),
    ("this evening", F, "2026-11-23 18:00"),
    ("this evening at 7", F, "2026-11-23 19:00"),
    ("tomorrow morning", F, "2026-11-24 09:00"),
    ("tomorrow morning at 10", F, "2026-11-24 10:00"),
    ("tomorrow afternoon", F, "2026-11-24 14:00"),
    ("tomorrow evening", F, "2026-11-24 18:00"),
    ("tomorrow night", F, "2026-11-24 20:00"),
    ("last night", P, "2026-11-22 20:00"),
    ("yesterday afternoon", P, "2026-11-22 14:00"),
    ("yesterday morning", P, "2026-11-22 09:00"),
    ("in the afternoon", F, "2026-11-23 14:00"),
    ("11 in the morning", F, "2026-11-23 11:00"),
    ("noon", F, "2026-11-23 12:00"),
    ("noon", P, "2026-11-22 12:00"),
    ("midnight", F, "2026-11-24 00:00"),
    ("midnight", P, "2026-11-23 00:00"),
    ("tomorrow noon", F, "2026-11-24 12:00"),
    ("noon tomorrow", F, "2026-11-24 12:00"),
    ("tomorrow at midnight", F, "2026-11-25 00:00"),
    ("eod", F, "2026-11-23 17:00"),
    ("end of day", F, "2026-11-23 17:00"),
    ("friday eod", F, "2026-11-27 17:00"),
    # --- times only --------------------------------------------------------
    ("at 4", F, "2026-11-23 16:00"),
    ("at 4", P, "2026-11-22 16:00"),
    ("4pm", F, "2026-11-23 16:00"),
    ("4 pm", F, "2026-11-23 16:00"),
    ("4 p.m.", F, "2026-11-23 16:00"),
    ("9am", F, "2026-11-24 09:00"),
    ("9am", P, "2026-11-23 09:00"),
    ("11am", P, "2026-11-22 11:00"),
    ("16:30", F, "2026-11-23 16:30"),
    ("16:30", P, "2026-11-22 16:30"),
    ("08:15", F, "2026-11-24 08:15"),
    ("4:30pm", F, "2026-11-23 16:30"),
    ("at 4:30", F, "2026-11-23 16:30"),
    ("3 o'clock", F, "2026-11-23 15:00"),
    ("at 11", F, "2026-11-23 11:00"),
    ("12pm", F, "2026-11-23 12:00"),
    ("12am", F, "2026-11-24 00:00"),
    ("half past 3", F, "2026-11-23 15:30"),
    ("quarter to 5", F, "2026-11-23 16:45"),
    ("3-4pm", F, "2026-11-23 15:00"),
    # --- weekdays ------------------------------------------------------------
    ("friday", F, "2026-11-27 09:00"),
    ("friday", P, "2026-11-20 09:00"),
    ("Friday", F, "2026-11-27 09:00"),
    ("on friday", F, "2026-11-27 09:00"),
    ("by friday", F, "2026-11-27 09:00"),
    ("monday", F, "2026-11-30 09:00"),
    ("monday", P, "2026-11-16 09:00"),
    ("monday 3pm", F, "2026-11-23 15:00"),
    ("monday 9am", F, "2026-11-30 09:00"),
    ("monday 9am", P, "2026-11-23 09:00"),
    ("monday 3pm", P, "2026-11-16 15:00"),
    ("tuesday", P, "2026-11-17 09:00"),
    ("sunday", F, "2026-11-29 09:00"),
    ("tues 2pm", F, "2026-11-24 14:00"),
    ("thursday at 10am", F, "2026-11-26 10:00"),
    ("thu 10am", F, "2026-11-26 10:00"),
    ("fri 9:30", F, "2026-11-27 09:30"),
    ("sunday morning", F, "2026-11-29 09:00"),
    ("saturday at noon", F, "2026-11-28 12:00"),
    ("at 3pm on friday", F, "2026-11-27 15:00"),
    ("4pm on friday", F, "2026-11-27 16:00"),
    ("next friday", F, "2026-12-04 09:00"),
    ("next monday", F, "2026-11-30 09:00"),
    ("next tuesday", F, "2026-12-01 09:00"),
    ("next tuesday at 3pm", F, "2026-12-01 15:00"),
    ("this friday", F, "2026-11-27 09:00"),
    ("this monday", F, "2026-11-23 09:00"),
    ("coming friday", F, "2026-11-27 09:00"),
    ("this coming monday", F, "2026-11-30 09:00"),
    ("friday after next", F, "2026-12-04 09:00"),
    ("friday next week", F, "2026-12-04 09:00"),
    ("next week friday", F, "2026-12-04 09:00"),
    ("last friday", P, "2026-11-20 09:00"),
    ("last monday", P, "2026-11-16 09:00"),
    ("last tuesday", P, "2026-11-17 09:00"),
    ("last thursday 2pm", P, "2026-11-19 14:00"),
    ("last sunday", F, "2026-11-22 09:00"),
    # --- weeks / months / years -----------------------------------------------
    ("next week", F, "2026-11-30 09:00"),
    ("last week", P, "2026-11-16 09:00"),
    ("next month", F, "2026-12-01 09:00"),
    ("last month", P, "2026-10-01 09:00"),
    ("next year", F, "2027-01-01 09:00"),
    ("next quarter", F, "2027-01-01 09:00"),
    ("this weekend", F, "2026-11-28 09:00"),
    ("next weekend", F, "2026-12-05 09:00"),
    ("over the weekend", F, "2026-11-28 09:00"),
    ("end of week", F, "2026-11-27 09:00"),
    ("end of the week", P, "2026-11-20 09:00"),
    ("end of the month", F, "2026-11-30 09:00"),
    ("end of month", P, "2026-10-31 09:00"),
    ("end of next month", F, "2026-12-31 09:00"),
    ("end of year", F, "2026-12-31 09:00"),
    ("eoy", F, "2026-12-31 09:00"),
    ("EOM", F, "2026-11-30 09:00"),
    ("end of quarter", F, "2026-12-31 09:00"),
    ("beginning of next month", F, "2026-12-01 09:00"),
    ("start of next week", F, "2026-11-30 09:00"),
    ("early next week", F, "2026-11-30 09:00"),
    ("mid next month", F, "2026-12-15 09:00"),
    # --- offsets ---------------------------------------------------------------
    ("in 10 minutes", F, "2026-11-23 10:10"),
    ("in 5 mins", F, "2026-11-23 10:05"),
    ("in 45m", F, "2026-11-23 10:45"),
    ("in 2 hours", F, "2026-11-23 12:00"),
    ("in 2h", F, "2026-11-23 12:00"),
    ("in an hour", F, "2026-11-23 11:00"),
    ("in half an hour", F, "2026-11-23 10:30"),
    ("in an hour and a half", F, "2026-11-23 11:30"),
    ("in 1.5 hours", F, "2026-11-23 11:30"),
    ("in thirty minutes", F, "2026-11-23 10:30"),
    ("in 30 seconds", F, "2026-11-23 10:00:30"),
    ("in 3 days", F, "2026-11-26 09:00"),
    ("in three days", F, "2026-11-26 09:00"),
    ("in a couple of days", F, "2026-11-25 09:00"),
    ("in a week", F, "2026-11-30 09:00"),
    ("in 2 weeks", F, "2026-12-07 09:00"),
    ("in 2 months", F, "2027-01-23 09:00"),
    ("in a year", F, "2027-11-23 09:00"),
    ("in 3 days at 4pm", F, "2026-11-26 16:00"),
    ("2 days from now", F, "2026-11-25 09:00"),
    ("a week from today", F, "2026-11-30 09:00"),
    ("a fortnight from now", F, "2026-12-07 09:00"),
    ("3 days ago", P, "2026-11-20 09:00"),
    ("2 weeks ago", P, "2026-11-09 09:00"),
    ("a month ago", P, "2026-10-23 09:00"),
    ("a year ago", P, "2025-11-23 09:00"),
    ("30 minutes ago", P, "2026-11-23 09:30"),
    ("an hour ago", P, "2026-11-23 09:00"),
    ("5 hours ago", F, "2026-11-23 05:00"),
    ("now", F, "2026-11-23 10:00"),
    # --- absolute dates -----------------------------------------------------------
    ("2026-12-01", F, "2026-12-01 09:00"),
    ("2026-12-01", P, "2026-12-01 09:00"),
    ("2026-12-01 14:30", F, "2026-12-01 14:30"),
    ("2026-12-01T14:30", F, "2026-12-01 14:30"),
    ("2026/12/01", F, "2026-12-01 09:00"),
    ("12/01", F, "2026-12-01 09:00"),
    ("12/01", P, "2025-12-01 09:00"),
    ("12/1 3pm", F, "2026-12-01 15:00"),
    ("1/15/2027", F, "2027-01-15 09:00"),
    ("25/12/2026", F, "2026-12-25 09:00"),
    ("1 Dec", F, "2026-12-01 09:00"),
    ("1 Dec", P, "2025-12-01 09:00"),
    ("Dec 1st", F, "2026-12-01 09:00"),
    ("Dec 1", F, "2026-12-01 09:00"),
    ("december 1 at 10am", F, "2026-12-01 10:00"),
    ("the 1st of december", F, "2026-12-01 09:00"),
    ("Dec 1st, 2027", F, "2027-12-01 09:00"),
    ("Dec 1st, 2026 at 3pm", F, "2026-12-01 15:00"),
    ("dec 25 at 6pm", F, "2026-12-25 18:00"),
    ("Friday, December 4 at 2pm", F, "2026-12-04 14:00"),
    ("nov 30", F, "2026-11-30 09:00"),
    ("nov 1", F, "2027-11-01 09:00"),
    ("nov 1", P, "2026-11-01 09:00"),
    ("nov 23", F, "2026-11-23 09:00"),
    ("january 15th", F, "2027-01-15 09:00"),
    ("15 jan 2027", F, "2027-01-15 09:00"),
    ("march 3", P, "2026-03-03 09:00"),
    ("feb 29", F, "2028-02-29 09:00"),
    ("in december", F, "2026-12-01 09:00"),
    ("december 2026", F, "2026-12-01 09:00"),
    ("the 15th", F, "2026-12-15 09:00"),
    ("the 15th", P, "2026-11-15 09:00"),
    ("on the 25th", F, "2026-11-25 09:00"),
    ("15th of next month", F, "2026-12-15 09:00"),
    # --- Chinese: relative days and parts of the day ------------------------------
    ("今天", F, "2026-11-23 09:00"),
    ("明天", F, "2026-11-24 09:00"),
    ("明天", P, "2026-11-24 09:00"),
    ("后天", F, "2026-11-25 09:00"),
    ("大后天", F, "2026-11-26 09:00"),
    ("昨天", P, "2026-11-22 09:00"),
    ("前天", P, "2026-11-21 09:00"),
    ("大前天", P, "2026-11-20 09:00"),
    ("明天上午10点", F, "2026-11-24 10:00"),
    ("明天早上8点", F, "2026-11-24 08:00"),
    ("明天中午", F, "2026-11-24 12:00"),
    ("明天晚上", F, "2026-11-24 20:00"),
    ("明天凌晨3点", F, "2026-11-24 03:00"),
    ("明天8点", F, "2026-11-24 08:00"),
    ("明天3点", F, "2026-11-24 15:00"),
    ("明天15:30", F, "2026-11-24 15:30"),
    ("明天下午三点半", F, "2026-11-24 15:30"),
    ("今天下午5点半", F, "2026-11-23 17:30"),
    ("今晚", F, "2026-11-23 20:00"),
    ("今晚十点", F, "2026-11-23 22:00"),
    ("明早", F, "2026-11-24 09:00"),
    ("明晚7点", F, "2026-11-24 19:00"),
    ("昨晚", P, "2026-11-22 20:00"),
    ("后天晚上8点", F, "2026-11-25 20:00"),
    ("下午3点", F, "2026-11-23 15:00"),
    ("下午3点", P, "2026-11-22 15:00"),
    ("晚上8点", F, "2026-11-23 20:00"),
    ("晚上12点", F, "2026-11-24 00:00"),
    ("中午12点", F, "2026-11-23 12:00"),
    ("中午", F, "2026-11-23 12:00"),
    ("早上9点", P, "2026-11-23 09:00"),
    ("3点", F, "2026-11-23 15:00"),
    ("3点半", F, "2026-11-23 15:30"),
    ("3点15分", F, "2026-11-23 15:15"),
    ("3点钟", F, "2026-11-23 15:00"),
    ("十点半", F, "2026-11-23 10:30"),
    ("15:30", F, "2026-11-23 15:30"),
    ("15点", P, "2026-11-22 15:00"),
    # --- Chinese: weekdays, weeks, months ---------------------------------------------
    ("周五", F, "2026-11-27 09:00"),
    ("周五", P, "2026-11-20 09:00"),
    ("星期五", F, "2026-11-27 09:00"),
    ("礼拜五", F, "2026-11-27 09:00"),
    ("周日", F, "2026-11-29 09:00"),
    ("星期天", F, "2026-11-29 09:00"),
    ("周一", F, "2026-11-30 09:00"),
    ("周一", P, "2026-11-16 09:00"),
    ("下周五", F, "2026-12-04 09:00"),
    ("下周一上午9点", F, "2026-11-30 09:00"),
    ("下个星期三", F, "2026-12-02 09:00"),
    ("这周五", F, "2026-11-27 09:00"),
    ("本周五", F, "2026-11-27 09:00"),
    ("这周一", F, "2026-11-23 09:00"),
    ("上周一", P, "2026-11-16 09:00"),
    ("上周五下午3点", P, "2026-11-20 15:00"),
    ("下下周五", F, "2026-12-11 09:00"),
    ("周五下午", F, "2026-11-27 14:00"),
    ("星期三下午3点", F, "2026-11-25 15:00"),
    ("下周", F, "2026-11-30 09:00"),
    ("上周", P, "2026-11-16 09:00"),
    ("周末", F, "2026-11-28 09:00"),
    ("下周末", F, "2026-12-05 09:00"),
    ("下个月", F, "2026-12-01 09:00"),
    ("上个月", P, "2026-10-01 09:00"),
    ("月底", P, "2026-10-31 09:00"),
    ("月初", F, "2026-12-01 09:00"),
    ("月初", P, "2026-11-01 09:00"),
    ("下个月初", F, "2026-12-01 09:00"),
    ("下月底", F, "2026-12-31 09:00"),
    ("本月底", F, "2026-11-30 09:00"),
    ("年底", F, "2026-12-31 09:00"),
    ("明年", F, "2027-01-01 09:00"),
    ("下个月5号", F, "2026-12-05 09:00"),
    # --- Chinese: offsets -----------------------------------------------------------
    ("2小时后", F, "2026-11-23 12:00"),
    ("10分钟后", F, "2026-11-23 10:10"),
    ("十分钟后", F, "2026-11-23 10:10"),
    ("3天前", P, "2026-11-20 09:00"),
    ("5小时前", P, "2026-11-23 05:00"),
    ("半小时后", F, "2026-11-23 10:30"),
    ("半个小时后", F, "2026-11-23 10:30"),
    ("一小时后", F, "2026-11-23 11:00"),
    ("一个小时以后", F, "2026-11-23 11:00"),
    ("一个半小时后", F, "2026-11-23 11:30"),
    ("两天后", F, "2026-11-25 09:00"),
    ("十天后", F, "2026-12-03 09:00"),
    ("3天以后", F, "2026-11-26 09:00"),
    ("一周后", F, "2026-11-30 09:00"),
    ("两周前", P, "2026-11-09 09:00"),
    ("3个月后", F, "2027-02-23 09:00"),
    ("过两天", F, "2026-11-25 09:00"),
    ("三天后下午2点", F, "2026-11-26 14:00"),
    # --- Chinese: absolute dates ----------------------------------------------------
    ("12月1日", F, "2026-12-01 09:00"),
    ("12月1日", P, "2025-12-01 09:00"),
    ("12月1号", F, "2026-12-01 09:00"),
    ("2026年12月1日", F, "2026-12-01 09:00"),
    ("2026年12月1日", P, "2026-12-01 09:00"),
    ("1月15日", F, "2027-01-15 09:00"),
    ("1月15日", P, "2026-01-15 09:00"),
    ("十二月一日", F, "2026-12-01 09:00"),
    ("12月1日下午3点", F, "2026-12-01 15:00"),
    ("明年3月5日", F, "2027-03-05 09:00"),
    ("15号", F, "2026-12-15 09:00"),
    ("15号", P, "2026-11-15 09:00"),
    ("12月底", F, "2026-12-31 09:00"),
    # --- full-width digits and colons ------------------------------------------------
    ("明天１５：３０", F, "2026-11-24 15:30"),
    ("３天后", F, "2026-11-26 09:00"),
    ("１２月１日", F, "2026-12-01 09:00"),
    ("下午３点", F, "2026-11-23 15:00"),
    # --- holidays, compound offsets, misc ---------------------------------------------
    ("christmas", F, "2026-12-25 09:00"),
    ("thanksgiving", F, "2026-11-26 09:00"),
    ("元旦", F, "2027-01-01 09:00"),
    ("圣诞节", P, "2025-12-25 09:00"),
    ("in 1 hour 30 minutes", F, "2026-11-23 11:30"),
    ("2 hours and 15 minutes ago", P, "2026-11-23 07:45"),
    ("1小时30分钟后", F, "2026-11-23 11:30"),
    ("两个半小时后", F, "2026-11-23 12:30"),
    ("半年后", F, "2027-05-23 09:00"),
    ("半个月后", F, "2026-12-08 09:00"),
    ("月中", F, "2026-12-15 09:00"),
    ("上个月15号", P, "2026-10-15 09:00"),
    ("本月15号", F, "2026-11-15 09:00"),
    ("tomorrow 10", F, "2026-11-24 10:00"),
    ("friday 3", F, "2026-11-27 15:00"),
    ("this past friday", P, "2026-11-20 09:00"),
    ("a couple of hours ago", P, "2026-11-23 08:00"),
    ("four days ago", P, "2026-11-19 09:00"),
    ("an hour from now", F, "2026-11-23 11:00"),
    ("Tuesday 9am", P, "2026-11-17 09:00"),
    ("yesterday evening", P, "2026-11-22 18:00"),
    ("at 5.30", F, "2026-11-23 17:30"),
    ("Friday the 4th", F, "2026-12-04 09:00"),
    ("next business day", F, "2026-11-24 09:00"),
    # --- surrounding filler that still counts as "just a date" ----------------------
    ("  tomorrow 3pm  ", F, "2026-11-24 15:00"),
    ("tomorrow at 3pm please", F, "2026-11-24 15:00"),
    ("明天下午3点之前", F, "2026-11-24 15:00"),
]


def _expected(s: str, tz) -> datetime:
    fmt = "%Y-%m-%d %H:%M:%S" if s.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(s, fmt).replace(tzinfo=tz)


def _ids(cases):
    return [f"{c[0]}|{c[1]}" for c in cases]


@pytest.mark.parametrize("phrase,prefer,expected", CASES, ids=_ids(CASES))
def test_phrase(phrase, prefer, expected):
    got = parse_when(phrase, now=NOW, prefer=prefer)
    assert got == _expected(expected, SH), f"{phrase!r} ({prefer}) -> {got}"
    assert got.utcoffset() == timedelta(hours=8)


# (now, phrase, prefer, expected aware datetime) in other zones, incl. DST changes
_NY_FALL = datetime(2026, 10, 31, 10, 0, tzinfo=NY)      # Sat; DST ends Sun 11-01 02:00
_NY_SPRING = datetime(2026, 3, 7, 20, 0, tzinfo=NY)      # Sat; DST starts Sun 03-08 02:00
_LON_SPRING = datetime(2026, 3, 28, 12, 0, tzinfo=LON)   # Sat; BST starts Sun 03-29 01:00
_LON_FALL = datetime(2026, 10, 24, 18, 0, tzinfo=LON)    # Sat; BST ends Sun 10-25 02:00

ZONE_CASES = [
    (_NY_FALL, "tomorrow 9am", F, datetime(2026, 11, 1, 9, 0, tzinfo=NY), -5),
    (_NY_FALL, "tomorrow", F, datetime(2026, 11, 1, 9, 0, tzinfo=NY), -5),
    (_NY_FALL, "in 24 hours", F, datetime(2026, 11, 1, 9, 0, tzinfo=NY), -5),
    (_NY_FALL, "in 1 day", F, datetime(2026, 11, 1, 9, 0, tzinfo=NY), -5),
    (_NY_FALL, "monday 3pm", F, datetime(2026, 11, 2, 15, 0, tzinfo=NY), -5),
    (_NY_FALL, "3pm", F, datetime(2026, 10, 31, 15, 0, tzinfo=NY), -4),
    (_NY_FALL, "yesterday 4pm", P, datetime(2026, 10, 30, 16, 0, tzinfo=NY), -4),
    (_NY_FALL, "明天上午9点", F, datetime(2026, 11, 1, 9, 0, tzinfo=NY), -5),
    (_NY_SPRING, "tomorrow 9am", F, datetime(2026, 3, 8, 9, 0, tzinfo=NY), -4),
    (_NY_SPRING, "in 12 hours", F, datetime(2026, 3, 8, 9, 0, tzinfo=NY), -4),
    # 02:30 does not exist on 2026-03-08 in New York: it moves to 03:30 EDT
    (_NY_SPRING, "tomorrow 2:30am", F, datetime(2026, 3, 8, 3, 30, tzinfo=NY), -4),
    (_LON_SPRING, "tomorrow 9am", F, datetime(2026, 3, 29, 9, 0, tzinfo=LON), 1),
    (_LON_SPRING, "in 24 hours", F, datetime(2026, 3, 29, 13, 0, tzinfo=LON), 1),
    (_LON_SPRING, "friday", P, datetime(2026, 3, 27, 9, 0, tzinfo=LON), 0),
    (_LON_FALL, "tomorrow 9am", F, datetime(2026, 10, 25, 9, 0, tzinfo=LON), 0),
    (_LON_FALL, "next week", F, datetime(2026, 10, 26, 9, 0, tzinfo=LON), 0),
    (_LON_FALL, "in 3 hours", F, datetime(2026, 10, 24, 21, 0, tzinfo=LON), 1),
]


@pytest.mark.parametrize("now,phrase,prefer,expected,offset_h", ZONE_CASES,
                         ids=[f"{c[0].tzinfo}|{c[1]}" for c in ZONE_CASES])
def test_other_zones_and_dst(now, phrase, prefer, expected, offset_h):
    got = parse_when(phrase, now=now, prefer=prefer)
    assert got == expected
    assert (got.year, got.month, got.day, got.hour, got.minute) == \
        (expected.year, expected.month, expected.day, expected.hour, expected.minute)
    assert got.utcoffset() == timedelta(hours=offset_h)
    assert got.tzinfo is now.tzinfo


def test_sunday_and_month_end_now():
    now = datetime(2027, 1, 31, 23, 30, tzinfo=SH)          # Sunday, last day of January
    assert parse_when("this weekend", now=now) == datetime(2027, 1, 31, 9, 0, tzinfo=SH)
    assert parse_when("next monday", now=now) == datetime(2027, 2, 1, 9, 0, tzinfo=SH)
    assert parse_when("in 1 month", now=now) == datetime(2027, 2, 28, 9, 0, tzinfo=SH)
    assert parse_when("end of month", now=now) == datetime(2027, 2, 28, 9, 0, tzinfo=SH)  # January's 09:00 is gone
    assert parse_when("the 30th", now=now) == datetime(2027, 3, 30, 9, 0, tzinfo=SH)
    assert parse_when("in 30 minutes", now=now) == datetime(2027, 2, 1, 0, 0, tzinfo=SH)
    assert parse_when("sunday 11pm", now=now, prefer="past") == datetime(2027, 1, 31, 23, 0, tzinfo=SH)


def test_end_of_month_on_its_last_day_is_never_already_past():
    """Issue 15: "end of month" typed on the 30th of November (its last day) answered "already past"."""
    now = datetime(2026, 11, 30, 10, 0, tzinfo=SH)  # the last day of November, after 09:00
    for phrase in ("end of month", "end of the month", "月底", "by the end of the month"):
        assert parse_when(phrase, now=now) == datetime(2026, 12, 31, 9, 0, tzinfo=SH), phrase
    assert extract_when("end of month send the invoice", now=now) == \
        (datetime(2026, 12, 31, 9, 0, tzinfo=SH), "send the invoice")
    # before 09:00 the month's end is still today; said with "this", it is taken as said
    assert parse_when("end of month", now=now.replace(hour=8)) == datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    assert parse_when("end of this month", now=now) == datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    # on the 30th of a 31-day month the end is tomorrow
    assert parse_when("end of month", now=datetime(2026, 12, 30, 10, 0, tzinfo=SH)) == \
        datetime(2026, 12, 31, 9, 0, tzinfo=SH)
    # the other period edges behave alike: Friday's "end of week" after 09:00 is next Friday
    assert parse_when("end of week", now=datetime(2026, 11, 27, 10, 0, tzinfo=SH)) == \
        datetime(2026, 12, 4, 9, 0, tzinfo=SH)
    # prefer past mirrors it: on the last day before 09:00, the end of month that has passed is October's
    assert parse_when("end of month", now=now.replace(hour=8), prefer="past") == \
        datetime(2026, 10, 31, 9, 0, tzinfo=SH)


@pytest.mark.parametrize("text,expected", [
    ("31 February", (None, 2, 31)),
    ("remind feb 30 about the invoice", (None, 2, 30)),
    ("April 31st", (None, 4, 31)),
    ("2月31日", (None, 2, 31)),
    ("29 feb 2027", (2027, 2, 29)),
])
def test_impossible_calendar_dates_are_named(text, expected):
    """Issue 15: `remind … 31 February` said "couldn't find when" instead of "February has no 31st"."""
    assert parse_when(text, now=NOW) is None
    assert impossible_date(text) == expected


@pytest.mark.parametrize("text", ["29 feb", "feb 28", "tomorrow 3pm", "send 31 items", "", "no date here"])
def test_possible_dates_are_not_impossible(text):
    assert impossible_date(text) is None


def test_fixed_offset_zone():
    now = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=-3)))
    got = parse_when("tomorrow 3pm", now=now)
    assert got == datetime(2026, 11, 24, 15, 0, tzinfo=now.tzinfo)
    assert got.tzinfo is now.tzinfo


def test_pytz_zone():
    pytz = pytest.importorskip("pytz")
    tz = pytz.timezone("America/New_York")
    now = tz.localize(datetime(2026, 10, 31, 10, 0))
    got = parse_when("tomorrow 9am", now=now)
    assert got.replace(tzinfo=None) == datetime(2026, 11, 1, 9, 0)
    assert got.utcoffset() == timedelta(hours=-5)
    assert parse_when("in 24 hours", now=now) == now + timedelta(hours=24)


def test_exact_offsets_keep_seconds_of_now():
    now = datetime(2026, 11, 23, 10, 0, 37, 123456, tzinfo=SH)
    assert parse_when("in 90 minutes", now=now) == now + timedelta(minutes=90)
    assert parse_when("2小时前", now=now, prefer="past") == now - timedelta(hours=2)


def test_table_is_big_and_balanced():
    assert len(CASES) >= 150
    assert len({(p, pr) for p, pr, _ in CASES}) == len(CASES), "duplicate rows"
    cjk = [c for c in CASES if any("\u4e00" <= ch <= "\u9fff" for ch in c[0])]
    assert len(cjk) >= 60
    assert len(CASES) - len(cjk) >= 60
    assert sum(1 for c in CASES if c[1] == P) >= 30


def test_accuracy_over_whole_table_is_100_percent():
    wrong = []
    for phrase, prefer, expected in CASES:
        got = parse_when(phrase, now=NOW, prefer=prefer)
        if got != _expected(expected, SH):
            wrong.append((phrase, prefer, expected, got))
    for now, phrase, prefer, expected, _ in ZONE_CASES:
        if parse_when(phrase, now=now, prefer=prefer) != expected:
            wrong.append((phrase, prefer, expected, None))
    total = len(CASES) + len(ZONE_CASES)
    accuracy = 1 - len(wrong) / total
    assert accuracy == 1.0, f"accuracy {accuracy:.1%} on {total}; wrong: {wrong}"


# --- things that are not dates ------------------------------------------------------

NEGATIVES = [
    "call", "hello", "12000", "discussed pricing", "", "   ", "\t\n", "😀", "🎉🎉🎉",
    "email", "may", "sun", "second", "sat", "wed", "3 items", "12000 units",
    "call me maybe", "you may want to call", "the second item", "sun is shining",
    "good morning", "have a nice weekend", "look at 4 options", "at 4% discount",
    "1/2 of the team", "version 2", "order #4411", "+1 555 0100", "hello\x00world",
    "\x00", "\x00\x00\x00", "有3点建议", "一周五天工作", "5号楼", "下午茶", "你好",
    "讨论价格", "we march 3 miles", "you may first want to", "Christmas party budget",
    "圣诞节活动预算", "下周期", "call lasted 3h 20m", "it happened at 10 past the hour",
    "contract is 12 months", "they have 2 weeks of trial left", "a year contract",
    "weekly sync", "every day", "Good evening Bob", "sat with the CFO", "May Lee called",
    "两个月的试用", "有两点需要注意", "第2点",
]


@pytest.mark.parametrize("text", NEGATIVES)
@pytest.mark.parametrize("prefer", [F, P])
def test_not_a_date(text, prefer):
    assert parse_when(text, now=NOW, prefer=prefer) is None
    dt, rest = extract_when(text, now=NOW, prefer=prefer)
    assert dt is None
    assert isinstance(rest, str)


def test_none_text():
    assert parse_when(None, now=NOW) is None


def test_long_text_returns_quickly():
    filler = "discussed pricing with the client call email may second sun 12000 3 items hello "
    text = (filler * 600)[:40_000]
    t0 = time.perf_counter()
    res = parse_when(text, now=NOW)
    dt, rest = extract_when(text, now=NOW)
    assert res is None or res.tzinfo is not None
    assert dt is None or dt.tzinfo is not None
    assert isinstance(rest, str)
    for blob in ("a" * 40_000, "1" * 40_000, "明" * 40_000, " " * 40_000, "tomorrow " * 4_500,
                 "\x00" * 40_000):
        r = parse_when(blob, now=NOW)
        assert r is None or r.tzinfo is not None
        assert isinstance(extract_when(blob, now=NOW)[1], str)
    assert time.perf_counter() - t0 < 20  # generous: behaviour, not a benchmark


def test_null_bytes_around_a_date():
    assert parse_when("\x00tomorrow 3pm\x00", now=NOW) == _expected("2026-11-24 15:00", SH)


# --- errors -------------------------------------------------------------------------

def test_naive_now_raises():
    naive = datetime(2026, 11, 23, 10, 0)
    with pytest.raises(ValueError):
        parse_when("tomorrow", now=naive)
    with pytest.raises(ValueError):
        extract_when("tomorrow send it", now=naive)
    with pytest.raises(ValueError):
        parse_when("", now=naive)


def test_bad_prefer_raises():
    with pytest.raises(ValueError):
        parse_when("tomorrow", now=NOW, prefer="soon")


def test_keyword_only():
    with pytest.raises(TypeError):
        parse_when("tomorrow", NOW)  # type: ignore[misc]


def test_results_are_aware_in_nows_zone():
    for phrase, prefer, _ in CASES:
        got = parse_when(phrase, now=NOW, prefer=prefer)
        assert got.tzinfo is SH
    got = parse_when("tomorrow 3pm", now=datetime(2026, 6, 1, 8, 0, tzinfo=NY))
    assert got.tzinfo is NY and got.utcoffset() == timedelta(hours=-4)


def test_dateparser_fallback_for_phrases_outside_the_rules():
    # the rule layer has no "X years, Y months ago"; dateparser does
    got = parse_when("1 year, 2 months ago", now=NOW, prefer="past")
    assert got == _expected("2025-09-23 09:00", SH)
    assert got.tzinfo is SH


# --- extract_when --------------------------------------------------------------------

EXTRACT_CASES = [
    ("yesterday 4pm discussed renewal pricing", P, "2026-11-22 16:00", "discussed renewal pricing"),
    ("tomorrow 3pm send the proposal", F, "2026-11-24 15:00", "send the proposal"),
    ("明天下午3点 发送报价", F, "2026-11-24 15:00", "发送报价"),
    ("明天下午3点发送报价", F, "2026-11-24 15:00", "发送报价"),
    ("discussed pricing", F, None, "discussed pricing"),
    ("send proposal by friday 4pm", F, "2026-11-27 16:00", "send proposal"),
    ("send proposal by friday 4pm to bob", F, "2026-11-27 16:00", "send proposal to bob"),
    ("call bob at 4 tomorrow", F, "2026-11-24 16:00", "call bob"),
    ("tomorrow: send deck", F, "2026-11-24 09:00", "send deck"),
    ("tomorrow, send deck", F, "2026-11-24 09:00", "send deck"),
    ("follow up in 3 days", F, "2026-11-26 09:00", "follow up"),
    ("follow up next week", F, "2026-11-30 09:00", "follow up"),
    ("remind me in 2 hours to call", F, "2026-11-23 12:00", "remind me to call"),
    ("2 days ago met with Acme", P, "2026-11-21 09:00", "met with Acme"),
    ("上周五 和客户开会", P, "2026-11-20 09:00", "和客户开会"),
    ("下周五下午2点提醒我", F, "2026-12-04 14:00", "提醒我"),
    ("我们明天下午3点开会", F, "2026-11-24 15:00", "我们开会"),
    ("can we meet tomorrow?", F, "2026-11-24 09:00", "can we meet?"),
    ("meeting on 12/01 with bob", F, "2026-12-01 09:00", "meeting with bob"),
    ("meet at 4 with bob", F, "2026-11-23 16:00", "meet with bob"),
    ("may 5 demo", F, "2027-05-05 09:00", "demo"),
    ("launch in may", F, "2027-05-01 09:00", "launch"),
    ("sync sun 3pm", F, "2026-11-29 15:00", "sync"),
    ("over the weekend review contract", F, "2026-11-28 09:00", "review contract"),
    ("Renewal call   Friday 10am   with   Dana", F, "2026-11-27 10:00", "Renewal call with Dana"),
    ("tomorrow", F, "2026-11-24 09:00", ""),
    ("   ", F, None, ""),
    ("you may want to call", F, None, "you may want to call"),
    ("ship 3 items", F, None, "ship 3 items"),
    ("order 12000 units", F, None, "order 12000 units"),
    ("the second item", F, None, "the second item"),
    ("sun is shining", F, None, "sun is shining"),
    ("good morning team", F, None, "good morning team"),
    ("有3点建议", F, None, "有3点建议"),
    ("每周五开会", F, None, "每周五开会"),
    ("email the client", F, None, "email the client"),
    ("3天后 回访客户", F, "2026-11-26 09:00", "回访客户"),
    ("明天１５：３０ 回电话", F, "2026-11-24 15:30", "回电话"),
    ("周五前发报价", F, "2026-11-27 09:00", "发报价"),
    ("明天下午3点左右 回电话", F, "2026-11-24 15:00", "回电话"),
    ("prep for tomorrow's demo", F, "2026-11-24 09:00", "prep for demo"),
    ("remind me in 1 hour 30 minutes to call", F, "2026-11-23 11:30", "remind me to call"),
    ("send gift before christmas", F, "2026-12-25 09:00", "send gift"),
    ("Christmas party budget", F, None, "Christmas party budget"),
    ("call lasted 3h 20m", F, None, "call lasted 3h 20m"),
    ("明年的预算 要提前准备", F, "2027-01-01 09:00", "预算 要提前准备"),
    ("two days later we signed", P, None, "two days later we signed"),
    ("enjoy the weekend", F, None, "enjoy the weekend"),
    ("Q3 review at 4 with the CFO", F, "2026-11-23 16:00", "Q3 review with the CFO"),
]


@pytest.mark.parametrize("text,prefer,expected,rest", EXTRACT_CASES,
                         ids=[c[0] for c in EXTRACT_CASES])
def test_extract_when(text, prefer, expected, rest):
    dt, remainder = extract_when(text, now=NOW, prefer=prefer)
    if expected is None:
        assert dt is None
    else:
        assert dt == _expected(expected, SH)
        assert dt.tzinfo is SH
    assert remainder == rest


def test_extract_agrees_with_parse_on_pure_phrases():
    for phrase, prefer, expected in CASES:
        if phrase in ("1 year, 2 months ago",):
            continue
        dt, rest = extract_when(phrase, now=NOW, prefer=prefer)
        assert dt == _expected(expected, SH), phrase


# --- properties ------------------------------------------------------------------------

_DATEY = st.sampled_from(
    ["tomorrow", "3pm", "next", "friday", "in", "2", "days", "ago", "at", "4", ":", "30",
     "明天", "下午", "3点", "半", "后", "周五", "下周", "月", "日", "号", "12", "/", "-",
     " ", "may", "sun", "second", "call", "２", "十", "两", "个", "小时", "2026", "dec", "the"])
_PHRASES = st.one_of(st.text(max_size=60), st.lists(_DATEY, max_size=8).map("".join))
_NOWS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                     timezones=st.sampled_from([SH, NY, LON, timezone.utc]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_PHRASES, prefer=st.sampled_from([F, P]), now=_NOWS)
def test_parse_when_never_raises(text, prefer, now):
    got = parse_when(text, now=now, prefer=prefer)
    assert got is None or (isinstance(got, datetime) and got.utcoffset() is not None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_PHRASES, prefer=st.sampled_from([F, P]))
def test_extract_when_remainder_is_str(text, prefer):
    dt, rest = extract_when(text, now=NOW, prefer=prefer)
    assert isinstance(rest, str)
    assert dt is None or dt.tzinfo is SH
    assert rest == rest.strip()
    assert len(rest) <= len(text)
