"""The English rules: one handler per pattern, each turning a match into an atom ("tomorrow", "next
friday", "3pm", "in 2 weeks", "dec 25", "end of month" ...).
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Optional

from bot.dates.numerals import _cn_int, _day_num, _en_num
from bot.dates.atoms import (_Atom, _GOOD_BEFORE, _HOUR_WORDS, _IN_BEFORE, _MONTHS, _UNIT_MAP,
    _WEAK_MONTH_WORDS, _WEAK_WD, _WEEKDAYS, _count_follows, _prep_before)

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
