"""Natural-language date/time parsing for the chat bot (English and Chinese).

Public API
==========

``parse_when(text, *, now, prefer="future") -> datetime | None``
    Parse a phrase such as ``"tomorrow 3pm"``, ``"in 90 minutes"``,
    ``"下周五下午2点"`` or ``"jan 15"``.  The result is an aware datetime in
    ``now``'s time zone, or ``None`` when the text holds no date or time.

``extract_when(text, *, now, prefer="future") -> tuple[datetime | None, str]``
    Find a date/time phrase inside free text (``"tomorrow 3pm send the
    proposal"``) and return it together with the text that remains once the
    phrase (and a dangling "by/on/at" in front of it) is removed.

Design
======

A deterministic rule layer handles the common phrases: the text is
normalised (full-width forms to ASCII, lower case, same length so spans map
back onto the original), a set of precompiled regular expressions finds
*atoms* (a date, a time, a part of the day, a relative offset), adjacent
atoms joined only by connectors ("at", "on", ",", "的" ...) are merged into a
*group*, and the group is resolved against ``now``.  ``dateparser`` is only a
fallback for ``parse_when`` when the rules could not understand the whole
text and the text still contains a date-ish token; ``extract_when`` never
uses it (it is too eager on free text).

Semantics chosen for ambiguous cases
====================================

* All arithmetic on days is done on the wall clock of ``now``'s zone, so
  "tomorrow 9am" is 09:00 local even across a DST change.  Offsets in
  seconds/minutes/hours ("in 90 minutes", "2小时后") are exact elapsed time.
* A phrase with a date but no time of day gets **09:00**, for ``prefer``
  "future" *and* "past" (one rule, easy to predict).  This includes day-sized
  offsets: "in 3 days", "3天后", "2 weeks ago" -> that day at 09:00.
* Parts of the day: morning/上午/早上 09:00, noon/中午 12:00,
  afternoon/下午 14:00, evening/傍晚 18:00, night/tonight/晚上/今晚 20:00,
  夜里 22:00, 凌晨 01:00, midnight/半夜 00:00 of the following day,
  eod/end of day/cob 17:00.
* An hour without am/pm and without a part of the day ("at 4", "3 o'clock",
  "明天3点", "4:30") is read as business hours: 1-6 -> 13:00-18:00,
  7-12 -> as written.  Zero-padded ("04:30") or 24-hour values are literal.
* Time only ("3pm"): prefer future -> today if not yet passed, else tomorrow;
  prefer past -> today if already passed, else yesterday.
* Bare weekday ("friday", "周五"): prefer future -> next occurrence after
  today; on the same weekday it is today only if a time later than ``now``
  is given, otherwise one week ahead.  Prefer past -> most recent occurrence
  before today (today only with a time that has already passed).
* "this friday" -> the Friday of the current Monday-Sunday week (with prefer
  future, rolled a week ahead if that day is already over); "next friday" /
  "下周五" -> Friday of next week; "last friday" -> the most recent Friday
  before today; "上周五" -> Friday of last week; "coming friday" -> next one.
* "next week"/"下周" -> Monday of next week; "next month"/"下个月" -> the 1st
  of next month; "next year"/"明年" -> January 1st; "next quarter" -> first
  day of next quarter (the "last ..." forms likewise).
* "end of week" -> Friday; "end of month"/"月底" -> last day of the month;
  "end of year"/"eoy"/"年底" -> Dec 31; "beginning of month"/"月初" -> the 1st;
  "weekend"/"周末" -> Saturday.  Without "this/next/last", such a point that
  already lies behind today is moved to the next period with prefer future
  (and one ahead of today moved to the previous period with prefer past).
* A day and month without a year ("jan 15", "1月15日", "12/01") -> this
  year's date, or next year's if it is already past (prefer future) / last
  year's if still ahead (prefer past).  Today counts as neither.  A lone day
  of month ("the 15th", "15号") works the same way with months.
* Numeric dates are month/day ("12/01" = December 1st) unless the first
  number cannot be a month.
* "midnight" attached to a date means the end of that day ("friday
  midnight" = Saturday 00:00).
* "next business day"/"下个工作日"/"in 3 working days" skip Saturdays and
  Sundays (no holiday calendar).  Fixed-date holidays (christmas, new year's
  day, 元旦, 圣诞节, 国庆节 ...) and thanksgiving work like "dec 25".

What is *not* taken for a date (``extract_when``; ``parse_when`` on a whole
text is a little more lenient, see below): everyday words that double as
dates ("may", "march", "sun", "sat", "wed", "mon", "second", "now") unless
other date words or a preposition ("on sat") come with them; bare numbers
and counts ("12000", "3 items", "at 4 locations", "3点建议"); fractions
("1/2 of"); durations ("lasted 3h 20m", "a year contract"); "good morning";
holiday names used as nouns ("Christmas party budget"); narrative offsets
("two days later").  Such weak pieces are accepted by ``parse_when`` only
when they make up the whole text ("12/01", "morning", "3点", "the 15th"), and
the words "may", "sun" ... never on their own.
"""
from __future__ import annotations

import calendar
import re
import threading
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Optional

__all__ = ["parse_when", "extract_when"]

_PREFERS = ("future", "past")
_MAX_TEXT = 20_000          # characters scanned by the rule layer
_MAX_DATEPARSER_TEXT = 80   # longer text never goes to dateparser

# ---------------------------------------------------------------------------
# Normalisation (length preserving, so spans map back onto the input)
# ---------------------------------------------------------------------------

_TRANS: dict[int, str] = {}
for _o in range(0xFF01, 0xFF5F):                      # full-width ASCII
    _TRANS[_o] = chr(_o - 0xFEE0)
for _c in "\u3000\u00a0\u2002\u2003\u2009\u200a\u202f\u205f\u2007\u2008\u2004\u2005\u2006\ufeff":
    _TRANS[ord(_c)] = " "
for _c in "\u2018\u2019\u2032\u00b4`":
    _TRANS[ord(_c)] = "'"
for _c in "\u2010\u2011\u2012\u2013\u2014\u2212\uff5e\u301c~":
    _TRANS[ord(_c)] = "-"
_TRANS[ord("\uff0c")] = ","
_TRANS[ord("\u3002")] = "."
_TRANS[ord("\uff1a")] = ":"
for _o in list(range(0, 32)) + [127]:
    _TRANS[_o] = " "
for _a, _b in zip("點時號週禮後鐘個兩這裡間後凌晝", "点时号周礼后钟个两这里间后凌昼"):
    _TRANS[ord(_a)] = _b
del _o, _c, _a, _b


def _normalize(text: str) -> str:
    s = text.translate(_TRANS)
    low = s.lower()
    if len(low) == len(s):
        return low
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in s)


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_int(s: str) -> Optional[int]:
    s = s.strip()
    if not s:
        return None
    if s.isascii() and s.isdigit():
        return int(s)
    if s[0] in "零〇" and len(s) > 1:
        rest = s.lstrip("零〇")
        if rest.isascii() and rest.isdigit():
            return int(rest)
        s = rest or "零"
    if len(s) >= 2 and all(c in _CN_DIGIT for c in s):      # 二〇二六
        return int("".join(str(_CN_DIGIT[c]) for c in s))
    total, cur = 0, 0
    for c in s:
        if c in _CN_DIGIT:
            cur = _CN_DIGIT[c]
        elif c == "十":
            total += (cur or 1) * 10
            cur = 0
        elif c == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur


_EN_ONES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9}
_EN_NUM = dict(_EN_ONES)
_EN_NUM.update({"a": 1, "an": 1, "ten": 10, "eleven": 11, "twelve": 12,
                "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
                "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
                "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
                "seventy": 70, "eighty": 80, "ninety": 90, "couple": 2,
                "few": 3})
_EN_TENS = ("twenty", "thirty", "forty", "fifty")


def _en_num(s: str) -> Optional[float]:
    s = re.sub(r"\s+", " ", s.strip())
    s = re.sub(r"^(?:a |an )?(couple|few)(?: of)?$", r"\1", s)
    if not s:
        return None
    if s[0].isdigit():
        try:
            return float(s)
        except ValueError:
            return None
    parts = re.split(r"[ -]", s)
    if len(parts) == 2 and parts[0] in _EN_TENS and parts[1] in _EN_ONES:
        return float(_EN_NUM[parts[0]] + _EN_ONES[parts[1]])
    v = _EN_NUM.get(s)
    return None if v is None else float(v)


_ORD_WORDS = {}
for _i, _w in enumerate(["first", "second", "third", "fourth", "fifth", "sixth",
                         "seventh", "eighth", "ninth", "tenth", "eleventh",
                         "twelfth", "thirteenth", "fourteenth", "fifteenth",
                         "sixteenth", "seventeenth", "eighteenth", "nineteenth",
                         "twentieth"], start=1):
    _ORD_WORDS[_w] = _i
for _i, _w in enumerate(["first", "second", "third", "fourth", "fifth", "sixth",
                         "seventh", "eighth", "ninth"], start=1):
    _ORD_WORDS["twenty-" + _w] = 20 + _i
    _ORD_WORDS["twenty " + _w] = 20 + _i
    _ORD_WORDS["twenty" + _w] = 20 + _i
_ORD_WORDS.update({"thirtieth": 30, "thirty-first": 31, "thirty first": 31, "thirtyfirst": 31})
del _i, _w


def _day_num(s: str) -> Optional[int]:
    s = s.strip()
    m = re.match(r"^([0-9]{1,2})(?:st|nd|rd|th)?$", s)
    if m:
        return int(m.group(1))
    return _ORD_WORDS.get(re.sub(r"\s+", " ", s))


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


# ---- handlers --------------------------------------------------------------

def _h_rel_day_en(m, s):
    w = m.group(0)
    w = re.sub(r"\s+", " ", w)
    if "after" in w or w == "overmorrow":
        return _Atom(date=("rel", 2))
    if "before" in w:
        return _Atom(date=("rel", -2))
    if w.startswith("to") and ("night" in w or "nite" in w) or w == "2nite":
        return _Atom(date=("rel", 0), period="night")
    if w.startswith("last"):
        return _Atom(date=("rel", -1), period="night" if "night" in w else "evening")
    if w == "today":
        return _Atom(date=("rel", 0))
    if w.startswith("y"):
        return _Atom(date=("rel", -1))
    return _Atom(date=("rel", 1))


def _h_period_en(m, s):
    pre = m.group("pre")
    p = m.group("p")
    if p == "arvo":
        p = "afternoon"
    if _GOOD_BEFORE.search(s[max(0, m.start() - 8):m.start()]) and not pre:
        return None
    if pre and pre.startswith("this"):
        return _Atom(date=("rel", 0), period=p)
    if pre and pre.startswith("tomorrow"):
        return _Atom(date=("rel", 1), period=p)
    if pre and pre.startswith("yesterday"):
        return _Atom(date=("rel", -1), period=p)
    return _Atom(period=p, strong=bool(pre))


def _h_weekday_en(m, s):
    raw = m.group("wd")
    wd = _WEEKDAYS[raw[:3]]
    mod = m.group("mod")
    mod = re.sub(r"\s+", " ", mod) if mod else None
    after = m.group("after")
    weak = raw in _WEAK_WD and not mod and not after
    if weak and _prep_before(s, m.start()):
        weak = False
    if weak:
        return _Atom(date=("wd", wd, "bare", 0), strong=False, solo=False)
    if after:
        return _Atom(date=("wd", wd, "after_next", 0))
    if mod is None:
        return _Atom(date=("wd", wd, "bare", 0), strong=not weak)
    if mod in ("next", "following"):
        return _Atom(date=("wd", wd, "week", 1))
    if mod in ("last", "past", "previous"):
        return _Atom(date=("wd", wd, "last", 0))
    if mod in ("coming", "this coming", "upcoming"):
        return _Atom(date=("wd", wd, "coming", 0))
    return _Atom(date=("wd", wd, "this", 0))


def _h_rel_unit_en(m, s):
    mod = m.group("mod")
    u = m.group("u")
    k = {"next": 1, "following": 1, "coming": 1, "last": -1, "previous": -1,
         "past": -1, "this": 0, "current": 0}[mod]
    if u == "weekend":
        return _Atom(date=("weekend", k))
    return _Atom(date=(u, k))


def _h_week_after_next(m, s):
    return _Atom(date=("week", 2))


def _h_edge_en(m, s):
    pos = m.group("pos") or m.group("pos2")
    mod = m.group("mod")
    u = m.group("u")
    k = None
    if mod:
        k = {"next": 1, "following": 1, "coming": 1, "last": -1, "previous": -1,
             "this": 0, "current": 0}[mod]
    kind = {"end": "end", "close": "end", "late": "late", "mid": "mid", "middle": "mid",
            "early": "start", "beginning": "start", "start": "start"}[pos]
    return _Atom(date=(kind, u, k))


def _h_edge_abbr(m, s):
    w = m.group(0)
    u = {"w": "week", "m": "month", "y": "year", "q": "quarter"}[w[2]]
    return _Atom(date=("end", u, None))


def _h_weekend_en(m, s):
    pre = m.group("pre")
    if pre and pre != "the":      # "enjoy the weekend" is not a date
        return _Atom(date=("weekend", None))
    strong = _prep_before(s, m.start())
    return _Atom(date=("weekend", None), strong=strong)


def _month_of(word: str) -> int:
    return _MONTHS[word[:3]]


def _h_md(m, s):
    mon = m.group("mon")
    d = _day_num(m.group("d"))
    y = m.group("y")
    if d is None or not 1 <= d <= 31:
        return None
    if not y and _count_follows(s, m.end()):
        return None
    # "you may first want to", "march second": a spelled-out day after an
    # everyday word is only taken together with other date words
    strong = not (mon in _WEAK_MONTH_WORDS and not y and not m.group("d")[0].isdigit()
                  and not _prep_before(s, m.start()))
    return _Atom(date=("md", int(y) if y else None, _month_of(mon), d), strong=strong, solo=strong)


def _h_month_only(m, s):
    mon = m.group("mon")
    y = m.group("y")
    pre = m.group("pre")
    pre = re.sub(r"\s+", " ", pre) if pre else ""
    strong = bool(y) or bool(pre) or _prep_before(s, m.start(), _IN_BEFORE)
    day = 1
    kind = "mon"
    if pre.startswith(("mid", "middle", "the middle")):
        kind = "mon_mid"
    elif pre.startswith(("late", "end", "the end", "by the end", "by end")):
        kind = "mon_end"
    solo = strong or mon in ("january", "february", "april", "june", "july",
                              "september", "october", "november", "december")
    return _Atom(date=(kind, int(y) if y else None, _month_of(mon), day), strong=strong, solo=solo)


def _h_iso(m, s):
    y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
    a = _Atom(date=("md", y, mo, d))
    if m.group("H") is not None:
        h, mi = int(m.group("H")), int(m.group("M"))
        sec = int(m.group("S") or 0)
        if h > 24:
            return None
        a.time = h * 3600 + mi * 60 + sec
        a.ampm = True
    return a


def _h_numeric(m, s):
    a, b = int(m.group("a")), int(m.group("b"))
    y = m.group("y")
    if a > 12 and b <= 12:
        mo, d = b, a
    else:
        mo, d = a, b
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    yy = None
    if y:
        yy = int(y)
        if yy < 100:
            yy += 2000
    strong = bool(y) or _prep_before(s, m.start())
    return _Atom(date=("md", yy, mo, d), strong=strong)


def _h_dmy_dot(m, s):
    d, mo, y = int(m.group("d")), int(m.group("m")), int(m.group("y"))
    return _Atom(date=("md", y, mo, d))


def _h_ordinal(m, s):
    d = int(m.group("d"))
    if not 1 <= d <= 31:
        return None
    strong = _prep_before(s, m.start())
    return _Atom(date=("dom", d), strong=strong)


def _secs(h: int, mi: int = 0, sec: int = 0) -> int:
    return h * 3600 + mi * 60 + sec


def _h_ampm(m, s):
    h = int(m.group("h"))
    mi = int(m.group("m") or 0)
    ap = m.group("ap")
    if not 1 <= h <= 12:
        if h == 0 and ap.startswith("a"):
            pass
        else:
            return None
    h = h % 12 + (12 if ap.startswith("p") else 0)
    return _Atom(time=_secs(h, mi), ampm=True)


def _h_range(m, s):
    h1, h2 = int(m.group("h1")), int(m.group("h2"))
    m1 = int(m.group("m1") or 0)
    ap1, ap2 = m.group("ap1"), m.group("ap2")
    if not (1 <= h1 <= 12 and 1 <= h2 <= 12):
        return None
    if ap1:
        h = h1 % 12 + (12 if ap1.startswith("p") else 0)
    else:
        h = h1 % 12 + (12 if ap2.startswith("p") else 0)
        end = h2 % 12 + (12 if ap2.startswith("p") else 0)
        if h > end:
            h -= 12
    return _Atom(time=_secs(h, m1), ampm=True)


def _h_24(m, s):
    hs = m.group("h")
    h, mi = int(hs), int(m.group("m"))
    sec = int(m.group("s") or 0)
    if h > 24 or (h == 24 and (mi or sec)):
        return None
    ambig = len(hs) == 1 and 1 <= h <= 6
    return _Atom(time=_secs(h, mi, sec), ampm=not ambig, ambig=ambig)


def _h_at(m, s):
    h = int(m.group("h"))
    mi = int(m.group("m") or 0)
    ap = m.group("ap")
    oc = m.group("oc")
    if ap:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ap.startswith("p") else 0)
        return _Atom(time=_secs(h, mi), ampm=True)
    if h > 24:
        return None
    if not oc and _count_follows(s, m.end()):
        return None
    if h >= 13 or h == 0 or (m.group("h").startswith("0") and len(m.group("h")) == 2):
        return _Atom(time=_secs(h, mi), ampm=True)
    return _Atom(time=_secs(h, mi), ambig=True)


def _h_oclock(m, s):
    hs = m.group("h")
    h = _HOUR_WORDS.get(hs) if not hs[0].isdigit() else int(hs)
    if h is None or h > 24:
        return None
    if h >= 13 or h == 0:
        return _Atom(time=_secs(h), ampm=True)
    return _Atom(time=_secs(h), ambig=True)


def _h_half(m, s):
    q = re.sub(r"\s+", " ", m.group("q"))
    d = m.group("dir")
    hs = m.group("h")
    if hs == "noon":
        h, ampm = 12, True
    elif hs == "midnight":
        h, ampm = 24, True
    else:
        h = _HOUR_WORDS.get(hs) if not hs[0].isdigit() else int(hs)
        if h is None or h > 23:
            return None
        ampm = h >= 13 or h == 0
    mins = 30 if q == "half" else 15
    if d in ("to", "before", "til", "till"):
        if q == "half":
            return None
        t = _secs(h) - mins * 60
    else:
        t = _secs(h) + mins * 60
    return _Atom(time=t, ampm=ampm, ambig=not ampm)


def _h_hour_period(m, s):
    h = int(m.group("h"))
    mi = int(m.group("m") or 0)
    p = m.group("p") or m.group("p2")
    tonight = m.group("tn")
    if not 0 <= h <= 12:
        return None
    if tonight:
        a = _Atom(date=("rel", 0), period="night")
    elif p is None:      # "at night"
        a = _Atom(period="night")
    else:
        a = _Atom(period=p)
        if m.group("this"):
            a.date = ("rel", 0)
    a.time = _secs(h, mi)
    return a


_TIME_WORDS = {"noon": 12, "midday": 12, "lunchtime": 12, "noontime": 12,
               "midnight": 24, "eod": 17, "cob": 17, "eob": 17}


def _h_time_word(m, s):
    w = m.group("w")
    w = re.sub(r"\s+", " ", w)
    h = _TIME_WORDS.get(w, 17)
    return _Atom(time=_secs(h), ampm=True)


def _h_in_qty(m, s, sign=1):
    return _qty_atom(m, sign)


def _qty_atom(m, sign):
    n = m.group("n") or m.group("n2")
    u = m.group("u") or m.group("u2") or m.group("u3")
    if m.group("half") is not None:
        val = 0.5
    else:
        val = _en_num(n)
        if val is None:
            return None
        if m.group("half1"):
            val += 0.5
    u = u.rstrip("s") if len(u) > 1 else u
    if u == "mos":
        u = "mo"
    unit = _UNIT_MAP.get(u)
    if unit is None:
        return None
    return _offset_atom(val * sign, unit)


def _offset_atom(val: float, unit: str) -> Optional[_Atom]:
    if unit == "fortnights":
        val, unit = val * 2, "weeks"
    if abs(val) > 100000:
        return None
    if unit in ("seconds", "minutes", "hours"):
        try:
            return _Atom(exact=timedelta(**{unit: val}))
        except OverflowError:
            return None
    if unit in ("days", "weeks"):
        days = val * (7 if unit == "weeks" else 1)
        if days != int(days):
            return _Atom(exact=timedelta(days=days))
        return _Atom(date=("cal", int(days), "days"))
    if val != int(val):
        if unit == "years" and val * 12 == int(val * 12):
            return _Atom(date=("cal", int(val * 12), "months"))    # 半年 -> 6 months
        if unit == "months" and val * 2 == int(val * 2):
            # "in a month and a half" / 半个月 -> 30-day months
            return _Atom(date=("cal", int(val * 30), "days"))
        return None
    return _Atom(date=("cal", int(val), unit))


def _h_qty_after(m, s):
    tail = re.sub(r"\s+", " ", m.group("tail"))
    a = _qty_atom(m, -1 if tail in ("ago", "back", "earlier", "before now") else 1)
    if a is not None and tail in ("later", "back", "out"):
        a.strong = False    # "two days later we signed" tells of another event
    if a is not None and tail == "from tomorrow" and a.date and a.date[0] == "cal" and a.date[2] == "days":
        a.date = ("cal", a.date[1] + 1, "days")
    return a


def _h_dateword_hour(m, s):
    """'tomorrow 10', 'friday 3': a bare hour right after a day word."""
    if _count_follows(s, m.end()):
        return None
    h = int(m.group("h"))
    mi = int(m.group("m") or 0)
    if h > 23:
        return None
    w = m.group("dw")
    if w in ("today",):
        a = _Atom(date=("rel", 0))
    elif w in ("tonight", "tonite"):
        a = _Atom(date=("rel", 0), period="night")
    elif w.startswith("t") and w[:3] in ("tom", "tmr", "tmw"):
        a = _Atom(date=("rel", 1))
    else:
        a = _Atom(date=("wd", _WEEKDAYS[w[:3]], "bare", 0))
    a.time = _secs(h, mi)
    if h >= 13 or h == 0 or m.group("h").startswith("0"):
        a.ampm = True
    else:
        a.ambig = True
    return a


_HOLIDAYS = {"christmas eve": (12, 24), "xmas eve": (12, 24), "christmas": (12, 25), "xmas": (12, 25),
             "christmas day": (12, 25), "new year's eve": (12, 31), "new years eve": (12, 31),
             "new year's day": (1, 1), "new years day": (1, 1), "new year's": (1, 1),
             "new years": (1, 1), "valentine's day": (2, 14), "valentines day": (2, 14),
             "halloween": (10, 31),
             "元旦": (1, 1), "圣诞节": (12, 25), "圣诞": (12, 25), "平安夜": (12, 24),
             "国庆节": (10, 1), "国庆": (10, 1), "劳动节": (5, 1), "五一节": (5, 1),
             "情人节": (2, 14), "万圣节": (10, 31)}


_CN_HOLIDAY_AFTER = re.compile(r"\s*(?:前|后|之前|以前|之后|以后|那天|当天|假期|期间)")


def _h_holiday(m, s):
    # holiday names are often just nouns ("Christmas party budget"): taken out
    # of free text only with a preposition, or as a whole phrase
    w = re.sub(r"\s+", " ", m.group(0))
    if w.isascii():
        strong = _prep_before(s, m.start())
    else:
        strong = bool(_CN_HOLIDAY_AFTER.match(s, m.end())) or s[max(0, m.start() - 1):m.start()] in ("在", "到")
    a = _h_holiday_date(w)
    a.strong = strong
    return a


def _h_holiday_date(w):
    if w == "thanksgiving" or w == "感恩节":
        return _Atom(date=("nth_wd", 11, 4, 3))       # 4th Thursday of November
    mo, d = _HOLIDAYS[w]
    return _Atom(date=("md", None, mo, d))


def _h_compound(m, s):
    """'in 1 hour 30 minutes', '2 hours and 15 minutes ago', '1小时30分钟后'."""
    a, b = _cn_int(m.group("a")), _cn_int(m.group("b"))
    if a is None or b is None or b > 59 or a > 10000:
        return None
    d = m.group("dir") or ""
    if not d and "pre" in m.re.groupindex and not m.group("pre"):
        return None     # "the call lasted 3h 20m" is a duration, not a date
    sign = -1 if d in ("ago", "earlier") or d.endswith("前") else 1
    return _Atom(exact=timedelta(hours=a, minutes=b) * sign)


def _h_bizday(m, s):
    """'next business day', 'in 3 working days', '3个工作日后'."""
    n = m.group("n")
    val = 1 if n is None else (_cn_int(n) if not n[0].isalpha() else _en_num(n))
    if val is None or val != int(val) or val > 1000:
        return None
    d = m.group("dir") or ""
    sign = -1 if d in ("ago",) or d.endswith("前") else 1
    return _Atom(date=("bizday", int(val) * sign))


def _h_now(m, s):
    return _Atom(exact=timedelta(0), strong=False)


# ---- Chinese handlers -------------------------------------------------------

_CN_REL = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3,
           "昨天": -1, "昨日": -1, "前天": -2, "大前天": -3}
_CN_REL_PERIOD = {"今早": (0, "早上"), "今晨": (0, "早上"), "今晚": (0, "晚上"),
                  "今夜": (0, "晚上"), "明早": (1, "早上"), "明晨": (1, "早上"),
                  "明晚": (1, "晚上"), "明夜": (1, "晚上"), "昨晚": (-1, "晚上"),
                  "昨夜": (-1, "晚上"), "昨早": (-1, "早上"), "前晚": (-2, "晚上")}


def _h_cn_rel(m, s):
    w = m.group(0)
    if w in _CN_REL_PERIOD:
        k, p = _CN_REL_PERIOD[w]
        return _Atom(date=("rel", k), period=p)
    return _Atom(date=("rel", _CN_REL[w]))


_CN_WEEK_PRE = {"上上": -2, "下下": 2, "上": -1, "下": 1, "这": 0, "本": 0, "今": 0}
_CN_WD = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
          "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}


def _cn_pre(pre: Optional[str]) -> Optional[int]:
    if not pre:
        return None
    return _CN_WEEK_PRE[pre.replace("个", "")]


def _h_cn_weekday(m, s):
    k = _cn_pre(m.group("pre"))
    wd = _CN_WD[m.group("d")]
    if k is None:
        return _Atom(date=("wd", wd, "bare", 0))
    return _Atom(date=("wd", wd, "week", k))


def _h_cn_week(m, s):
    return _Atom(date=("week", _cn_pre(m.group("pre"))))


def _h_cn_weekend(m, s):
    k = _cn_pre(m.group("pre"))
    return _Atom(date=("weekend", k))


_CN_EDGE = {"底": "end", "末": "end", "初": "start", "中": "mid", "中旬": "mid",
            "上旬": "start", "下旬": "late"}


def _h_cn_month(m, s):
    k = _cn_pre(m.group("pre"))
    pos = m.group("pos")
    if pos:
        kind = _CN_EDGE[pos]
        if kind == "late":
            return _Atom(date=("late", "month", k))
        return _Atom(date=(kind, "month", k))
    return _Atom(date=("month", k))


def _h_cn_month_edge(m, s):
    kind = _CN_EDGE[m.group("pos")]
    if kind == "late":
        return _Atom(date=("late", "month", None))
    return _Atom(date=(kind, "month", None))


_CN_YEAR_PRE = {"明": 1, "去": -1, "今": 0, "后": 2, "前": -2}


def _h_cn_year(m, s):
    k = _CN_YEAR_PRE[m.group("pre")]
    pos = m.group("pos")
    if pos:
        kind = _CN_EDGE[pos]
        return _Atom(date=(kind, "year", k))
    return _Atom(date=("year", k), strong=k != 0)


def _h_cn_year_edge(m, s):
    return _Atom(date=(_CN_EDGE[m.group("pos")], "year", None))


def _h_cn_quarter(m, s):
    pre = m.group("pre")
    pos = m.group("pos")
    k = _cn_pre(pre) if pre else None
    if pos:
        return _Atom(date=(_CN_EDGE[pos], "quarter", k))
    if k is None:
        return None
    return _Atom(date=("quarter", k))


def _h_cn_md(m, s):
    y = m.group("y")
    mo = _cn_int(m.group("m"))
    d = _cn_int(m.group("d"))
    if mo is None or d is None or not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    yy = _cn_int(y) if y else None
    return _Atom(date=("md", yy, mo, d))


def _h_cn_month_only(m, s):
    y = m.group("y")
    mo = _cn_int(m.group("m"))
    if mo is None or not 1 <= mo <= 12:
        return None
    pos = m.group("pos")
    yy = _cn_int(y) if y else None
    if pos:
        kind = {"end": "mon_end", "start": "mon", "mid": "mon_mid", "late": "mon_end"}[_CN_EDGE[pos]]
        return _Atom(date=(kind, yy, mo, 1))
    return _Atom(date=("mon", yy, mo, 1), strong=yy is not None)


def _h_cn_dom(m, s):
    d = _cn_int(m.group("d"))
    if d is None or not 1 <= d <= 31:
        return None
    return _Atom(date=("dom", d))


_CN_UNITS = {"秒": "seconds", "秒钟": "seconds", "分钟": "minutes", "分": "minutes",
             "小时": "hours", "钟头": "hours", "天": "days", "日": "days",
             "周": "weeks", "星期": "weeks", "礼拜": "weeks", "月": "months",
             "年": "years"}


def _h_cn_offset(m, s):
    n = m.group("n")
    half = m.group("half")
    u = m.group("u")
    if u == "月" and "个" not in m.group(0):      # "3月后" is "after March"
        return None
    if n:
        val = _cn_int(n)
        if val is None:
            return None
        val = float(val)
        if half:
            val += 0.5
    elif m.group("few"):
        val = 3.0
    elif half:
        val = 0.5
    else:
        return None
    unit = _CN_UNITS[u]
    sign = -1 if m.group("dir").endswith("前") else 1
    if unit == "days" and val != int(val):
        return _Atom(exact=timedelta(days=val * sign))
    return _offset_atom(val * sign, unit)


def _h_cn_guo(m, s):
    n = m.group("n")
    val = _cn_int(n) if n else 2
    if val is None:
        return None
    unit = _CN_UNITS[m.group("u")]
    return _offset_atom(float(val), unit)


def _h_cn_time(m, s):
    h = _cn_int(m.group("h"))
    if h is None or h > 24:
        return None
    mi = 0
    strong = bool(m.group("zhong")) or h > 12
    if m.group("half"):
        mi, strong = 30, True
    elif m.group("q"):
        mi, strong = (15 if m.group("q") in "一1" else 45), True
    elif m.group("mm"):
        mi = _cn_int(m.group("mm"))
        if mi is None or mi > 59:
            return None
        strong = True
    elif m.group("z"):
        strong = True
    ampm = h >= 13 or h == 0
    return _Atom(time=_secs(h, mi), ampm=ampm, ambig=not ampm, strong=strong)


def _h_cn_period(m, s):
    p = m.group("p") or m.group("p1")
    if p in ("半夜", "午夜"):
        return _Atom(time=_secs(24), ampm=True)
    return _Atom(period=p)


def _h_cn_now(m, s):
    return _Atom(exact=timedelta(0), strong=False)


# ---- pattern table ----------------------------------------------------------

_HOUR = r"(?P<h>[01]?[0-9]|2[0-4])"

_PATTERNS: list[tuple[str, Callable]] = [
    # English ---------------------------------------------------------------
    (rf"{_B}(?:(?:the\s+)?day\s+after\s+tomorrow|overmorrow|(?:the\s+)?day\s+before\s+yesterday|"
     rf"today|tonight|tonite|2nite|tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr|tmw|2moro|2morrow|"
     rf"yesterday|yday|yest|last\s+night|last\s+evening){_E}", _h_rel_day_en),
    (rf"{_B}(?:(?P<pre>in\s+the|early\s+in\s+the|late\s+in\s+the|during\s+the|at|this|tomorrow|yesterday)\s+)?"
     rf"(?P<p>morning|afternoon|evening|night|arvo){_E}", _h_period_en),
    (rf"{_B}(?:(?P<mod>this\s+coming|this|next|last|coming|upcoming|past|previous|following)\s+)?"
     rf"(?P<wd>{_WD_RE})\.?{_E}(?:\s+(?P<after>after\s+next){_E})?", _h_weekday_en),
    (rf"{_B}(?:the\s+)?(?P<mod>next|last|this|coming|previous|following|current)\s+"
     rf"(?P<u>week|month|year|quarter|weekend){_E}", _h_rel_unit_en),
    (rf"{_B}(?:the\s+)?week\s+after\s+next{_E}", _h_week_after_next),
    (rf"{_B}(?:(?:the\s+)?(?P<pos>end|beginning|start|middle|close)\s+of\s+(?:the\s+)?|"
     rf"(?P<pos2>early|mid|late)[\s-]+)(?:(?P<mod>next|this|last|coming|previous|following|current)\s+)?"
     rf"(?P<u>week|month|year|quarter){_E}", _h_edge_en),
    (rf"{_B}(?:eow|eom|eoy|eoq){_E}", _h_edge_abbr),
    (rf"{_B}(?:(?P<pre>over\s+the|on\s+the|at\s+the|by\s+the|this\s+coming|the)\s+)?weekend{_E}", _h_weekend_en),
    # absolute dates
    (rf"(?<![0-9/.:-])(?P<y>{_YEAR_RE})[-/.](?P<m>[01]?[0-9])[-/.](?P<d>[0-3]?[0-9])(?![0-9])"
     rf"(?:(?:t|\s+|\s*,\s*|\s+at\s+)(?P<H>[01]?[0-9]|2[0-4]):(?P<M>[0-5][0-9])(?::(?P<S>[0-5][0-9]))?(?![0-9]))?",
     _h_iso),
    (rf"{_B}(?:the\s+)?(?P<d>{_DAY_RE})\s*(?:of\s+)?(?P<mon>{_MON_RE})\.?"
     rf"(?:\s*,?\s*(?P<y>{_YEAR_RE}))?{_E}(?!:[0-9])", _h_md),
    (rf"{_B}(?P<mon>{_MON_RE})\.?\s*(?:the\s+)?(?P<d>{_DAY_RE}){_E}(?!:[0-9])"
     rf"(?:\s*,?\s*(?P<y>{_YEAR_RE}){_E}(?!:[0-9]))?", _h_md),
    (rf"{_B}(?:(?P<pre>early|mid|late|(?:by\s+)?(?:the\s+)?(?:end|beginning|start|middle)\s+of)[\s-]+)?"
     rf"(?P<mon>january|february|march|april|may|june|july|august|september|october|november|december|"
     rf"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
     rf"(?:\s*,?\s*(?P<y>{_YEAR_RE}))?{_E}", _h_month_only),
    (r"(?<![0-9/.:-])(?P<a>[0-3]?[0-9])/(?P<b>[0-3]?[0-9])(?:/(?P<y>[0-9]{4}|[0-9]{2}))?(?![0-9/])",
     _h_numeric),
    (rf"(?<![0-9.])(?P<d>[0-3]?[0-9])\.(?P<m>[01]?[0-9])\.(?P<y>{_YEAR_RE})(?![0-9.])", _h_dmy_dot),
    (rf"{_B}(?:the\s+)?(?P<d>[0-3]?[0-9])(?:st|nd|rd|th){_E}", _h_ordinal),
    # relative offsets
    (rf"{_B}(?:in|after)\s+(?:about\s+|around\s+|approx\.?\s+|approximately\s+|another\s+|just\s+|roughly\s+)?"
     rf"{_QTY_EN}{_E}(?:\s+(?:time|from\s+now){_E})?", _h_in_qty),
    (rf"{_B}{_QTY_EN}\s+(?P<tail>ago|back|earlier|from\s+now|from\s+today|from\s+tomorrow|later|hence|out){_E}",
     _h_qty_after),
    (rf"{_B}(?:right\s+now|now|asap|immediately){_E}", _h_now),
    (rf"{_B}(?:next\s+(?:business|working|work)\s+day|(?:in\s+)?(?P<n>[0-9]{{1,3}}|{_NUM_EN})\s+"
     rf"(?:business|working|work)\s+days?(?:\s+(?P<dir>ago|from\s+now|from\s+today))?){_E}", _h_bizday),
    (rf"{_B}(?:(?P<pre>in|after)\s+)?(?P<a>[0-9]{{1,4}})\s*(?:h|hrs?|hours?)\s*(?:and\s+)?(?P<b>[0-9]{{1,2}})\s*"
     rf"(?:m|mins?|minutes?){_E}(?:\s+(?P<dir>ago|earlier|from\s+now|later){_E})?", _h_compound),
    (rf"{_B}(?P<dw>today|tonight|tonite|tomorrow|tmrw|tmr|tmw|monday|tuesday|wednesday|thursday|"
     rf"friday|saturday|sunday|tues?|thu(?:rs?)?|fri)\s+(?P<h>[0-9]{{1,2}})(?::(?P<m>[0-5][0-9]))?"
     rf"(?![0-9:.]|\s*(?:a\.?m|p\.?m|o'?\s?clock|/|-))(?![a-z])", _h_dateword_hour),
    (rf"{_B}(?:christmas\s+eve|christmas\s+day|christmas|xmas\s+eve|xmas|new\s+year'?s\s+(?:eve|day)|"
     rf"new\s+year'?s|valentine'?s\s+day|halloween|thanksgiving){_E}", _h_holiday),
    # times
    (rf"(?<![0-9:.])(?P<h1>[01]?[0-9])(?:[:.](?P<m1>[0-5][0-9]))?\s*(?P<ap1>{_AMPM})?\s*(?:-|to|until|till)\s*"
     rf"(?P<h2>[01]?[0-9])(?:[:.](?P<m2>[0-5][0-9]))?\s*(?P<ap2>{_AMPM})(?![a-z])", _h_range),
    (rf"(?<![0-9:.])(?P<h>[01]?[0-9])(?:[:.](?P<m>[0-5][0-9]))?\s*(?P<ap>{_AMPM})(?![a-z])", _h_ampm),
    (rf"{_B}(?:at|@|around)\s*{_HOUR}(?:[:.](?P<m>[0-5][0-9]))?(?![0-9]|:[0-9]|\.[0-9])"
     rf"(?:\s*(?P<ap>{_AMPM})(?![a-z])|\s*(?P<oc>o'?\s?clock){_E})?", _h_at),
    (rf"(?<![0-9:.])(?P<h>[01]?[0-9]|2[0-4]):(?P<m>[0-5][0-9])(?::(?P<s>[0-5][0-9]))?(?![0-9]|:[0-9])", _h_24),
    (rf"{_B}(?P<h>[01]?[0-9]|2[0-4]|{_HOUR_WORD})\s*o'?\s?clock{_E}", _h_oclock),
    (rf"{_B}(?P<q>half|quarter|a\s+quarter)\s+(?P<dir>past|after|to|before|til|till)\s+"
     rf"(?P<h>[01]?[0-9]|2[0-3]|{_HOUR_WORD}|noon|midnight){_E}", _h_half),
    (rf"(?<![0-9:.])(?P<h>[01]?[0-9])(?::(?P<m>[0-5][0-9]))?\s+(?:in\s+the\s+(?P<p>morning|afternoon|evening)|"
     rf"at\s+night|(?P<tn>tonight)|(?P<this>this)\s+(?P<p2>morning|afternoon|evening)){_E}", _h_hour_period),
    (rf"{_B}(?P<w>noon|midday|lunchtime|noontime|midnight|eod|cob|eob|"
     rf"end\s+of\s+(?:the\s+)?(?:business\s+|work(?:ing)?\s+)?day|close\s+of\s+(?:business|play)|"
     rf"end\s+of\s+business){_E}", _h_time_word),
    # Chinese ---------------------------------------------------------------
    (r"今早|今晨|今晚|今夜|明早|明晨|明晚|明夜|昨晚|昨夜|昨早|前晚|大后天|大前天|今天|今日|明天|明日|后天|昨天|昨日|前天",
     _h_cn_rel),
    (r"(?<!每)(?P<pre>上上|下下|上个|下个|这个|上|下|这|本|今)?(?:周|星期|礼拜)(?P<d>[一二三四五六日天1-7])(?![天次个年])",
     _h_cn_weekday),
    (r"(?P<pre>上上|下下|上个|下个|这个|上|下|这|本)?(?:个)?周末", _h_cn_weekend),
    (r"(?P<pre>上上个|下下个|上上|下下|上个|下个|这个|上|下|这|本)(?:周|星期|礼拜)(?![一二三四五六日天1-7末期])",
     _h_cn_week),
    (r"(?P<pre>上上个|下下个|上个|下个|这个|上|下|本)月(?P<pos>底|末|初|中旬|上旬|下旬|中)?",
     _h_cn_month),
    (r"(?<![0-9一二三四五六七八九十个])月(?P<pos>底|末|初|中旬|上旬|下旬)", _h_cn_month_edge),
    (r"(?:(?<![\u4e00-\u9fff])|(?<=[在到于等]))月(?P<pos>中)(?![\u4e00-\u9fff])", _h_cn_month_edge),
    (r"(?P<pre>明|去|今|后|前)年(?P<pos>底|末|初|中)?", _h_cn_year),
    (r"(?<![0-9一二三四五六七八九十明去今后前])年(?P<pos>底|末|初)", _h_cn_year_edge),
    (r"(?:(?P<pre>上个|下个|这个|上|下|本)季度|(?<![上下本个])季度?)(?P<pos>末|底|初)?", _h_cn_quarter),
    (rf"{_NOT_NUM_BEFORE}(?:(?P<y>[0-9]{{4}}|[〇零一二三四五六七八九]{{4}})\s*年\s*)?"
     rf"(?P<m>[0-9]{{1,2}}|十[一二]?|[一二三四五六七八九])\s*月\s*"
     rf"(?P<d>[0-9]{{1,2}}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
     rf"(?:\s*[日号]|(?=\s|$|[,.;!?]|\s*(?:上午|下午|晚上|早上|中午|凌晨|傍晚)))", _h_cn_md),
    (rf"{_NOT_NUM_BEFORE}(?:(?P<y>[0-9]{{4}}|[〇零一二三四五六七八九]{{4}})\s*年\s*)?"
     rf"(?P<m>[0-9]{{1,2}}|十[一二]?|[一二三四五六七八九])\s*月(?:份)?(?P<pos>底|末|初|中旬|上旬|下旬|中)?"
     rf"(?![0-9一二三四五六七八九十个])", _h_cn_month_only),
    (rf"(?<![0-9{_CNN}第])(?P<d>[0-9]{{1,2}}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])\s*号"
     rf"(?![楼线房室门位机店码窗台车厅馆院床柜区栋座桌字球员选手文件])", _h_cn_dom),
    (rf"{_NOT_NUM_BEFORE}(?=[再过0-9{_CNN}几半])(?:再?过\s*)?(?:(?P<n>{_NUMCN})|(?P<few>几))?\s*(?P<ge>个)?\s*(?P<half>半)?\s*(?:个\s*)?"
     rf"(?P<u>秒钟|秒|分钟|分|小时|钟头|天|日|周|星期|礼拜|月|年)\s*(?P<dir>以后|之后|后|以前|之前|前)",
     _h_cn_offset),
    (rf"(?:再|(?<![\u4e00-\u9fff0-9]))过\s*(?P<n>{_NUMCN})?\s*(?:个)?\s*(?P<u>天|周|星期|礼拜)(?![前后])", _h_cn_guo),
    (rf"{_NOT_NUM_BEFORE}(?P<h>[0-9]{{1,2}}|[零一二两三四五六七八九十]{{1,3}})\s*(?:点|时)(?P<zhong>钟)?\s*"
     rf"(?:(?P<half>半)|(?P<q>[一1三3])\s*刻|(?P<z>整)|(?P<mm>[0-9]{{1,2}}|[零〇一二三四五六七八九十]{{1,3}})\s*(?:分钟?)?"
     rf"(?![0-9个人天次号位名块元]))?", _h_cn_time),
    (r"(?P<p>凌晨|清晨|早晨|早上|上午|中午|正午|午后|下午|傍晚|晚上|晚间|夜里|夜间|半夜|午夜)(?![好茶饭餐])"
     r"|(?P<p1>早|晚)(?=\s*(?:[0-9]|[一二两三四五六七八九十])+\s*[点时:])", _h_cn_period),
    (r"现在|马上|立刻|立即", _h_cn_now),
    (rf"下一?个工作日|{_NOT_NUM_BEFORE}(?P<n>{_NUMCN})\s*个\s*工作日\s*(?P<dir>以后|之后|后|以前|之前|前)", _h_bizday),
    (rf"{_NOT_NUM_BEFORE}(?P<a>{_NUMCN})\s*个?\s*(?:小时|钟头)\s*(?:零\s*)?(?P<b>{_NUMCN})\s*(?:分钟|分)\s*"
     rf"(?P<dir>以后|之后|后|以前|之前|前)", _h_compound),
    (r"元旦|圣诞节|圣诞|平安夜|国庆节|国庆|劳动节|五一节|情人节|万圣节|感恩节", _h_holiday),
]




def _possessive(p: str) -> str:
    # whitespace never has to be given back in these patterns; possessive
    # quantifiers keep runs of blanks from causing polynomial backtracking
    return p.replace(r"\s*", r"\s*+").replace(r"\s+", r"\s++")


_FIRST_CN = next(i for i, (p, _) in enumerate(_PATTERNS) if p.startswith("今早"))
_COMPILED_EN = [(re.compile(_possessive(p), _F), h) for p, h in _PATTERNS[:_FIRST_CN]]
_COMPILED_CN = [(re.compile(_possessive(p), _F), h) for p, h in _PATTERNS[_FIRST_CN:]]
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
_HAS_LATIN = re.compile(r"[a-z0-9]")

# connectors allowed between two atoms of one phrase
_GAP_RE = re.compile(r"(?:[\s,;\-]|\b(?:at|on|around|by|of)\b|@|的|在|于|、)*\Z", _F)
# words that may surround a phrase that parse_when still takes as "the whole text"
_FILLER_RE = re.compile(
    r"(?:[\s\W_]|\b(?:at|on|by|around|about|due|until|till|before|after|from|in|the|this|"
    r"sometime|some\s+time|approx|approximately|roughly|ish|later|starting|no\s+later\s+than|"
    r"please|pls|plz)\b|在|于|到|大约|大概|左右|之前|以前|前|以后|后|之后|之内|以内|内|的|吧|啊|呢|了|再|截止|截至|最迟|最晚|约|请)*\Z",
    re.UNICODE | re.IGNORECASE)
# a date-ish token: only text containing one goes to dateparser
# (everyday words that double as dates -- "may", "march", "sun", "sat", "wed",
# "mon", "now", "second" -- do not count: dateparser would take them alone)
_DATEISH_RE = re.compile(
    rf"{_B}(?:jan(?:uary)?|feb(?:ruary)?|apr(?:il)?|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    rf"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday|thursday|friday|"
    rf"saturday|sunday|tues?|thu(?:rs?)?|fri|days?|weeks?|fortnights?|months?|years?|hours?|"
    rf"minutes?|mins?|hrs?|ago|tomorrow|yesterday|today|tonight|noon|midnight|morning|"
    rf"afternoon|evening|weekend|quarter){_E}|[0-9][/:.-][0-9]|[0-9]\s*(?:am|pm|st|nd|rd|th){_E}|"
    rf"[年月日号点时周星期天晚早午刻分秒]", _F)
_PREP_TAIL_RE = re.compile(r"(?:^|(?<=[\s,]))(?:(?:by|on|at|before|until|till|due|around|for\s+the|"
                           r"in|due\s+by|due\s+on)\s*)+$|(?:在|于)\s*$", _F)


# ---------------------------------------------------------------------------
# Scanning and grouping
# ---------------------------------------------------------------------------

def _scan(s: str) -> list[_Atom]:
    cands = []
    compiled = []
    if _HAS_LATIN.search(s):
        compiled += _COMPILED_EN
    if _HAS_CJK.search(s):
        compiled += _COMPILED_CN
    for rx, handler in compiled:
        for m in rx.finditer(s):
            if m.end() == m.start():
                continue
            cands.append((m.start(), -(m.end() - m.start()), m, handler))
    cands.sort(key=lambda c: (c[0], c[1]))
    atoms: list[_Atom] = []
    pos = 0
    for start, neglen, m, handler in cands:
        if start < pos:
            continue
        try:
            a = handler(m, s)
        except (ValueError, OverflowError, KeyError, TypeError):
            a = None
        if a is None:
            continue
        a.start, a.end = start, start - neglen
        atoms.append(a)
        pos = a.end
    return atoms


_CONFLICT = object()


def _merge_date(a, b):
    if a is None:
        return b
    if b is None:
        return a
    for x, y in ((a, b), (b, a)):
        if x[0] == "week" and y[0] == "wd" and y[2] == "bare" and x[1] is not None:
            return ("wd", y[1], "week", x[1])
        if x[0] == "week" and y[0] == "weekend" and y[1] is None:
            return ("weekend", x[1])
        if x[0] == "month" and y[0] == "dom":
            return ("mdrel", x[1], y[1])
        if x[0] == "year" and y[0] in ("md", "mon", "mon_end", "mon_mid") and y[1] is None:
            return (y[0] + "_yrel", x[1], y[2], y[3])
        if x[0] == "wd" and x[2] == "bare" and y[0] in ("md", "mdrel", "dom"):
            return y
        if x[0] == "mon" and x[1] is None and y[0] == "dom":
            return ("md", None, x[2], y[1])
    return _CONFLICT


class _Group:
    __slots__ = ("start", "end", "atoms", "date", "time", "ampm", "ambig",
                 "period", "exact", "strong", "solo")

    def __init__(self, a: _Atom):
        self.start, self.end = a.start, a.end
        self.atoms = [a]
        self.date, self.time, self.ampm, self.ambig = a.date, a.time, a.ampm, a.ambig
        self.period, self.exact, self.strong = a.period, a.exact, a.strong
        self.solo = a.solo

    def add(self, a: _Atom) -> bool:
        if self.exact is not None or a.exact is not None:
            return False
        date = _merge_date(self.date, a.date)
        if date is _CONFLICT:
            return False
        if self.time is not None and a.time is not None:
            return False
        if self.period and a.period and _PERIODS[self.period][0] != _PERIODS[a.period][0]:
            return False
        self.date = date
        if a.time is not None:
            self.time, self.ampm, self.ambig = a.time, a.ampm, a.ambig
        self.period = self.period or a.period
        self.strong = self.strong or a.strong
        self.atoms.append(a)
        self.end = a.end
        return True


def _groups(s: str, atoms: list[_Atom]) -> list[_Group]:
    groups: list[_Group] = []
    cur: Optional[_Group] = None
    for a in atoms:
        if cur is not None and _GAP_RE.match(s, cur.end, a.start) and cur.add(a):
            continue
        cur = _Group(a)
        groups.append(cur)
    for g in groups:
        if len(g.atoms) >= 2 and any(a.solo for a in g.atoms):
            g.strong = g.solo = True
    return groups


# ---------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------

def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    last = calendar.monthrange(y, m)[1]
    return date(y, m, min(d.day, last))


def _month_start(d: date, k: int) -> date:
    return _add_months(d.replace(day=1), k)


def _month_end(d: date, k: int) -> date:
    s = _month_start(d, k)
    return s.replace(day=calendar.monthrange(s.year, s.month)[1])


def _quarter_start(d: date, k: int) -> date:
    q0 = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return _add_months(q0, 3 * k)


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _edge(kind: str, unit: str, today: date, k: int) -> date:
    if unit == "week":
        mon = _monday(today) + timedelta(weeks=k)
        return mon + timedelta(days={"start": 0, "mid": 2, "end": 4, "late": 4}[kind])
    if unit == "month":
        if kind == "start":
            return _month_start(today, k)
        if kind == "mid":
            return _month_start(today, k).replace(day=15)
        if kind == "late":
            return _month_start(today, k).replace(day=21)
        return _month_end(today, k)
    if unit == "quarter":
        qs = _quarter_start(today, k)
        if kind == "start":
            return qs
        if kind == "mid":
            return _add_months(qs, 1).replace(day=15)
        return _add_months(qs, 3) - timedelta(days=1)
    # year
    y = today.year + k
    return {"start": date(y, 1, 1), "mid": date(y, 7, 1)}.get(kind, date(y, 12, 31))


def _safe_date(y: int, m: int, d: int) -> Optional[date]:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _md_rolled(y: Optional[int], mo: int, d: int, today: date, prefer: str) -> Optional[date]:
    if y is not None:
        return _safe_date(y, mo, d)
    if prefer == "future":
        for yy in range(today.year, today.year + 9):
            c = _safe_date(yy, mo, d)
            if c is not None and c >= today:
                return c
    else:
        for yy in range(today.year, today.year - 9, -1):
            c = _safe_date(yy, mo, d)
            if c is not None and c <= today:
                return c
    return None


def _resolve_date(spec, today: date, prefer: str, tsec: int, has_time: bool,
                  now_naive: datetime) -> Optional[date]:
    kind = spec[0]
    fut = prefer == "future"
    if kind == "rel":
        return today + timedelta(days=spec[1])
    if kind == "cal":
        n, unit = spec[1], spec[2]
        if unit == "days":
            return today + timedelta(days=n)
        if unit == "months":
            return _add_months(today, n)
        return _add_months(today, 12 * n)
    if kind == "wd":
        wd, mode, k = spec[1], spec[2], spec[3]
        tw = today.weekday()
        if mode == "bare":
            if fut:
                delta = (wd - tw) % 7
                if delta == 0:
                    same = datetime.combine(today, time()) + timedelta(seconds=tsec)
                    delta = 0 if has_time and same > now_naive else 7
                return today + timedelta(days=delta)
            delta = (tw - wd) % 7
            if delta == 0:
                same = datetime.combine(today, time()) + timedelta(seconds=tsec)
                delta = 0 if has_time and same <= now_naive else 7
            return today - timedelta(days=delta)
        if mode == "this":
            d = _monday(today) + timedelta(days=wd)
            if fut and d < today:
                d += timedelta(days=7)
            return d
        if mode == "week":
            return _monday(today) + timedelta(days=wd + 7 * k)
        if mode == "last":
            return today - timedelta(days=((tw - wd) % 7) or 7)
        if mode == "coming":
            return today + timedelta(days=((wd - tw) % 7) or 7)
        if mode == "after_next":
            return today + timedelta(days=(((wd - tw) % 7) or 7) + 7)
        return None
    if kind == "md":
        return _md_rolled(spec[1], spec[2], spec[3], today, prefer)
    if kind == "bizday":
        n = spec[1]
        step = 1 if n > 0 else -1
        d = today
        for _ in range(abs(n)):
            d += timedelta(days=step)
            while d.weekday() >= 5:
                d += timedelta(days=step)
        return d
    if kind == "nth_wd":
        mo, n, wd = spec[1], spec[2], spec[3]

        def nth(y):
            first = date(y, mo, 1)
            return first + timedelta(days=(wd - first.weekday()) % 7 + 7 * (n - 1))
        c = nth(today.year)
        if fut and c < today:
            c = nth(today.year + 1)
        elif not fut and c > today:
            c = nth(today.year - 1)
        return c
    if kind in ("md_yrel",):
        return _safe_date(today.year + spec[1], spec[2], spec[3])
    if kind in ("mon", "mon_end", "mon_mid", "mon_yrel", "mon_end_yrel", "mon_mid_yrel"):
        if kind.endswith("_yrel"):
            y = today.year + spec[1]
            kind = kind[:-5]
        else:
            y = spec[1]
        mo = spec[2]
        if y is None:
            if mo == today.month:
                y = today.year
            elif fut:
                y = today.year if mo > today.month else today.year + 1
            else:
                y = today.year if mo < today.month else today.year - 1
        if kind == "mon":
            return date(y, mo, 1)
        if kind == "mon_mid":
            return date(y, mo, 15)
        return date(y, mo, calendar.monthrange(y, mo)[1])
    if kind == "dom":
        d = spec[1]
        step = 1 if fut else -1
        base = today.replace(day=1)
        for i in range(0, 13):
            ms = _add_months(base, i * step)
            c = _safe_date(ms.year, ms.month, d)
            if c is None:
                continue
            if (fut and c >= today) or (not fut and c <= today):
                return c
        return None
    if kind == "mdrel":
        ms = _month_start(today, spec[1])
        return _safe_date(ms.year, ms.month, spec[2])
    if kind == "week":
        k = spec[1]
        return today if k == 0 else _monday(today) + timedelta(weeks=k)
    if kind == "month":
        k = spec[1]
        return today if k == 0 else _month_start(today, k)
    if kind == "year":
        k = spec[1]
        return today if k == 0 else date(today.year + k, 1, 1)
    if kind == "quarter":
        k = spec[1]
        return today if k == 0 else _quarter_start(today, k)
    if kind in ("end", "start", "mid", "late"):
        unit, k = spec[1], spec[2]
        if k is not None:
            return _edge(kind, unit, today, k)
        d = _edge(kind, unit, today, 0)
        if fut and d < today:
            d = _edge(kind, unit, today, 1)
        elif not fut and d > today:
            d = _edge(kind, unit, today, -1)
        return d
    if kind == "weekend":
        k = spec[1]
        sat = _monday(today) + timedelta(days=5)
        tw = today.weekday()
        if k == 0 and fut and tw == 6:
            return today        # "this weekend" said on Sunday
        if k is not None:
            return sat + timedelta(weeks=k)
        if fut:
            return today if tw == 6 else sat
        return today - timedelta(days=(tw - 5) % 7)
    return None


def _time_of_day(g: _Group) -> Optional[int]:
    if g.time is not None:
        t = g.time
        if g.ampm:
            return t
        h, rest = divmod(t, 3600)
        if g.period:
            h = _adjust_hour(_PERIODS[g.period][0], h)
        elif g.ambig:
            h = _business_hour(h)
        return h * 3600 + rest
    if g.period:
        return _PERIODS[g.period][1]
    return None


def _localize(naive: datetime, tz) -> datetime:
    loc = getattr(tz, "localize", None)
    if loc is not None:   # pytz
        try:
            return tz.normalize(loc(naive))
        except Exception:
            pass
    dt = naive.replace(tzinfo=tz)
    return dt.astimezone(timezone.utc).astimezone(tz)


def _evaluate(g: _Group, now: datetime, prefer: str) -> Optional[datetime]:
    tz = now.tzinfo
    if g.exact is not None:
        try:
            return (now.astimezone(timezone.utc) + g.exact).astimezone(tz)
        except (OverflowError, ValueError):
            return None
    now_naive = now.replace(tzinfo=None)
    today = now_naive.date()
    tsec = _time_of_day(g)
    has_time = tsec is not None
    if tsec is None:
        tsec = 9 * 3600
    try:
        if g.date is None:
            cand = datetime.combine(today, time()) + timedelta(seconds=tsec)
            if prefer == "future" and cand < now_naive:
                cand += timedelta(days=1)
            elif prefer == "past" and cand > now_naive:
                cand -= timedelta(days=1)
        else:
            d = _resolve_date(g.date, today, prefer, tsec, has_time, now_naive)
            if d is None:
                return None
            cand = datetime.combine(d, time()) + timedelta(seconds=tsec)
        return _localize(cand, tz)
    except (OverflowError, ValueError):
        return None


# ---------------------------------------------------------------------------
# dateparser fallback
# ---------------------------------------------------------------------------

_DP_LOCK = threading.Lock()
_DP_STATE: dict = {}


def _dateparser_parse(text: str, now: datetime, prefer: str) -> Optional[datetime]:
    try:
        with _DP_LOCK:
            if "parser" not in _DP_STATE:
                from dateparser.conf import settings as dp_settings
                from dateparser.date import DateDataParser
                base = dp_settings.replace(
                    PREFER_DATES_FROM="future", RETURN_AS_TIMEZONE_AWARE=False,
                    RETURN_TIME_AS_PERIOD=True,
                    DATE_ORDER="MDY")
                _DP_STATE["base"] = base
                _DP_STATE["parser"] = DateDataParser(languages=["en", "zh"], settings=base)
            parser = _DP_STATE["parser"]
            now_naive = now.replace(tzinfo=None)
            parser._settings = _DP_STATE["base"].replace(
                RELATIVE_BASE=now_naive, PREFER_DATES_FROM=prefer)
            data = parser.get_date_data(text)
    except Exception:
        return None
    dt = data.date_obj if data is not None else None
    if dt is None or data.period in ("year", None):
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(now.tzinfo).replace(tzinfo=None)
    if data.period != "time":
        dt = dt.replace(hour=9, minute=0, second=0, microsecond=0)
    try:
        return _localize(dt, now.tzinfo)
    except (OverflowError, ValueError):
        return None


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

def _check(text, now, prefer) -> None:
    if not isinstance(now, datetime):
        raise TypeError("now must be a datetime")
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("now must be timezone-aware")
    if prefer not in _PREFERS:
        raise ValueError("prefer must be 'future' or 'past'")
    if text is not None and not isinstance(text, str):
        raise TypeError("text must be a str")


_MAX_FILLER = 60


def _is_filler(s: str, start: int, end: int) -> bool:
    if end - start > _MAX_FILLER:
        return False
    return bool(_FILLER_RE.match(s[start:end]))


def _candidates(s: str) -> list[_Group]:
    return _groups(s, _scan(s))


def _accepted(s: str, groups: list[_Group]) -> list[_Group]:
    out = []
    for g in groups:
        if g.strong or (g.solo and _is_filler(s, 0, g.start) and _is_filler(s, g.end, len(s))):
            out.append(g)
    return out


def _parse(text, now: datetime, prefer: str = "future"):
    """Like parse_when, but returns ``(datetime | None, layer)`` where layer is
    "rules", "dateparser" or None (used by the benchmark)."""
    _check(text, now, prefer)
    if not text or not text.strip():
        return None, None
    s = _normalize(text[:_MAX_TEXT])
    groups = _accepted(s, _candidates(s))
    best = None
    for g in groups:
        if best is None or (g.end - g.start) > (best.end - best.start):
            best = g
    if best is not None:
        leftover = s[:best.start] + " " + s[best.end:]
        if (_is_filler(s, 0, best.start) and _is_filler(s, best.end, len(s))) \
                or not _DATEISH_RE.search(leftover):
            dt = _evaluate(best, now, prefer)
            if dt is not None:
                return dt, "rules"
    if len(s) <= _MAX_DATEPARSER_TEXT and _DATEISH_RE.search(s):
        dt = _dateparser_parse(s.strip(), now, prefer)
        if dt is not None:
            return dt, "dateparser"
    for g in sorted(groups, key=lambda g: g.start - g.end):
        dt = _evaluate(g, now, prefer)
        if dt is not None:
            return dt, "rules"
    return None, None


def parse_when(text: str, *, now: datetime, prefer: str = "future") -> Optional[datetime]:
    """Parse an English or Chinese date/time phrase.

    Returns an aware datetime in ``now``'s time zone, or ``None`` when the
    text holds no date or time.  ``now`` must be aware (``ValueError``
    otherwise); ``prefer`` is "future" or "past" and decides which way
    incomplete phrases ("friday", "3pm", "jan 15") are completed.  A phrase
    with a date but no time of day gets 09:00.  See the module docstring for
    the full list of conventions.
    """
    return _parse(text, now, prefer)[0]


_CN_DEADLINE_AFTER = re.compile(r"^\s*(?:之前|以前|前(?!台)|之内|以内|左右)(?=[\u4e00-\u9fff\s,，]|$)")


def _tidy(s: str) -> str:
    return re.sub(r"[ \t\u3000\u00a0]+", " ", s).strip()


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\u3000" <= ch <= "\u303f" \
        or "\uff00" <= ch <= "\uffef"


def extract_when(text: str, *, now: datetime, prefer: str = "future") -> tuple[Optional[datetime], str]:
    """Find a date/time phrase inside free text.

    Returns ``(datetime | None, remainder)`` where the remainder is the text
    with the phrase (and a dangling "by"/"on"/"at"/"在" right before it)
    removed and whitespace tidied.  A phrase at the start of the text is
    preferred, otherwise the first one found.  Only the deterministic rule
    layer is used, so ordinary words ("call", "may", "second", "sun") and
    bare numbers are never taken for dates.
    """
    _check(text, now, prefer)
    if text is None:
        return None, ""
    if not text.strip():
        return None, _tidy(text)
    s = _normalize(text[:_MAX_TEXT])
    groups = _accepted(s, _candidates(s))
    chosen = None
    chosen_dt = None
    ordered = sorted(groups, key=lambda g: (0 if _is_filler(s, 0, g.start) else 1, g.start))
    for g in ordered:
        dt = _evaluate(g, now, prefer)
        if dt is not None:
            chosen, chosen_dt = g, dt
            break
    if chosen is None:
        return None, _tidy(text)
    end = chosen.end
    if s[end:end + 2] == "'s" and not s[end + 2:end + 3].isalnum():
        end += 2        # "prep for tomorrow's demo" -> "prep for demo"
    left = text[:chosen.start]
    right = text[end:]
    tail = _normalize(left[-40:])
    lm = _PREP_TAIL_RE.search(tail)
    if lm:
        left = left[:len(left) - len(tail) + lm.start()]
    left = left.rstrip(" \t\u3000,，;；:：-–—")
    right = _CN_DEADLINE_AFTER.sub("", right, count=1)   # 周五前发报价 -> 发报价
    if not left.strip():
        right = re.sub(r"^\s*的", "", right)              # 明年的预算 -> 预算
    right = right.lstrip(" \t\u3000,，;；:：-–—")
    if left and right:
        if right[0] in ".?!。？！,)，":
            sep = ""
        elif _is_cjk(left[-1]) and _is_cjk(right[0]):
            sep = ""
        else:
            sep = " "
        rem = left + sep + right
    else:
        rem = left + right
    return chosen_dt, _tidy(rem)
