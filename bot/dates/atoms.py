"""What a date phrase is made of: an atom (a date, a time, a part of the day, an offset), the parts of
the day, and the regular-expression pieces the English and Chinese rules share.
"""
from __future__ import annotations

import re
from datetime import date, time

from bot.dates.numerals import _ORD_WORDS

# ---------------------------------------------------------------------------
# Atoms
# ---------------------------------------------------------------------------

class _Atom:
    """One recognised piece of a date phrase."""

    __slots__ = ("start", "end", "date", "time", "ampm", "ambig", "period",
                 "exact", "strong", "solo")

    def __init__(self, date=None, time=None, ampm=False, ambig=False,
                 period=None, exact=None, strong=True, solo=True):
        self.start = 0
        self.end = 0
        self.date = date        # tuple, see _resolve_date
        self.time = time        # seconds after midnight (may exceed 86400)
        self.ampm = ampm        # time is absolute (am/pm, 24h, noon ...)
        self.ambig = ambig      # bare hour: apply the business-hours rule
        self.period = period    # part of the day, key of _PERIODS
        self.exact = exact      # timedelta from now (minutes/hours/now)
        self.strong = strong    # may be taken out of free text on its own
        self.solo = solo        # False: an everyday word ("may", "sun") that is
        #                         never a date unless other date words join it


# part of the day -> (kind, default seconds after midnight)
_PERIODS = {
    "morning": ("am", 9 * 3600), "afternoon": ("pm", 14 * 3600),
    "arvo": ("pm", 14 * 3600), "evening": ("pm", 18 * 3600),
    "night": ("night", 20 * 3600),
    "上午": ("am", 9 * 3600), "早上": ("am", 9 * 3600), "早晨": ("am", 9 * 3600),
    "清晨": ("am", 7 * 3600), "早": ("am", 9 * 3600), "凌晨": ("small", 1 * 3600),
    "中午": ("noon", 12 * 3600), "正午": ("noon", 12 * 3600),
    "午后": ("pm", 14 * 3600), "下午": ("pm", 14 * 3600),
    "傍晚": ("pm", 18 * 3600), "晚上": ("night", 20 * 3600),
    "晚间": ("night", 20 * 3600), "晚": ("night", 20 * 3600),
    "夜里": ("night", 22 * 3600), "夜间": ("night", 22 * 3600),
    "半夜": ("midnight", 24 * 3600), "午夜": ("midnight", 24 * 3600),
}


def _adjust_hour(kind: str, h: int) -> int:
    if h >= 13:
        return h
    if kind == "small":
        return 0 if h == 12 else h
    if kind == "noon":
        return h + 12 if 1 <= h <= 5 else h
    if kind == "pm":
        return h + 12 if 1 <= h <= 11 else h
    if kind in ("night", "midnight"):
        if h == 12:
            return 24
        if 0 <= h <= 4:
            return 24 + h
        if kind == "night" and 5 <= h <= 11:
            return h + 12
        return h
    return h  # am


def _business_hour(h: int) -> int:
    return h + 12 if 1 <= h <= 6 else h


# ---------------------------------------------------------------------------
# Regular expressions (compiled once at import)
# ---------------------------------------------------------------------------

_F = re.ASCII
_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"
_CNN = "零〇一二两三四五六七八九十"
_NUMCN = rf"(?:[0-9]{{1,3}}|[{_CNN}]{{1,4}})"
_NOT_NUM_BEFORE = rf"(?<![0-9{_CNN}百千万])"

_MON_RE = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|"
           r"aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7,
           "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
_WEAK_MONTH_WORDS = {"may", "mar", "march", "jan", "jun", "aug", "august", "sep", "oct", "dec"}

_WD_RE = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
          r"mon|tues?|weds?|thu(?:rs?)?|fri|sat|sun)")
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_WEAK_WD = {"mon", "wed", "weds", "sat", "sun"}

_ORD_WORD_RE = "|".join(sorted((re.escape(w) for w in _ORD_WORDS), key=len, reverse=True))
_DAY_RE = rf"(?:[0-3]?[0-9](?:st|nd|rd|th)?|{_ORD_WORD_RE})"
_YEAR_RE = r"(?:19|20)[0-9]{2}"

_NUM_EN = (r"(?:[0-9]+(?:\.[0-9]+)?|(?:twenty|thirty|forty|fifty)[ -](?:one|two|three|four|five|six|seven|eight|nine)|"
           r"a\s+couple(?:\s+of)?|couple(?:\s+of)?|a\s+few|few|an|a|one|two|three|four|five|six|seven|"
           r"eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|"
           r"nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)")
_UNIT_EN = (r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|"
            r"months?|mos|mths?|years?|yrs?|fortnights?)")
_QTY_EN = (rf"(?:(?P<n>{_NUM_EN})\s*-?\s*(?P<u>{_UNIT_EN})(?P<half1>\s+and\s+a\s+half)?"
           rf"|(?P<n2>[0-9]+(?:\.[0-9]+)?)(?P<u2>[smhdw])"
           rf"|(?P<half>half\s+(?:an?\s+)?)(?P<u3>hour|day|minute|year|month))")
_UNIT_MAP = {"s": "seconds", "sec": "seconds", "second": "seconds",
             "m": "minutes", "min": "minutes", "minute": "minutes",
             "h": "hours", "hr": "hours", "hour": "hours",
             "d": "days", "day": "days", "w": "weeks", "wk": "weeks", "week": "weeks",
             "mo": "months", "mth": "months", "month": "months",
             "yr": "years", "year": "years", "fortnight": "fortnights"}

_AMPM = r"(?:a\.?m\.?|p\.?m\.?)"
_HOUR_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_HOUR_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
               "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}

# words that, right after a number, show it is a count and not a time/date
_COUNT_AFTER = re.compile(
    r"\s*(?:%|\$|x\b|k\b|of\b|out\b|per\b|percent\b|times\b|people\b|"
    r"persons?\b|items?\b|units?\b|pcs\b|users?\b|seats?\b|licen[cs]es?\b|"
    r"dollars?\b|usd\b|eur\b|rmb\b|yuan\b|bucks\b|stars?\b|points?\b|boxes\b|"
    r"pieces?\b|more\b|other\b|others\b|past\b|[a-z]{2,}s\b)", _F)
_COUNT_OK = re.compile(r"\s*(?:this|its|is|was|has|as|his|us|tues|thurs|weds)\b", _F)

_PREP_BEFORE = re.compile(r"(?:^|[^a-z])(?:on|by|until|till|before|due|from|since|after|starting|every|next|this|last)\s+$", _F)
_IN_BEFORE = re.compile(r"(?:^|[^a-z])(?:in|by|until|till|since|before|after|during|from|through)\s+$", _F)
_GOOD_BEFORE = re.compile(r"(?:^|[^a-z])good\s*$", _F)


def _count_follows(s: str, end: int) -> bool:
    tail = s[end:end + 24]
    if _COUNT_OK.match(tail):
        return False
    return bool(_COUNT_AFTER.match(tail))


def _prep_before(s: str, start: int, rx=_PREP_BEFORE) -> bool:
    return bool(rx.search(s[max(0, start - 14):start]))
