"""The Chinese rules: one handler per pattern (明天, 下周五, 下午3点, 3天后, 月底, 国庆节 ...).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from bot.dates.numerals import _cn_int
from bot.dates.atoms import _Atom
from bot.dates.english import _offset_atom, _secs

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
