"""The pattern table (English and Chinese rules, compiled once) and the scan that finds atoms in text
and joins adjacent ones into phrase groups.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Callable, Optional

from bot.dates.atoms import (_AMPM, _Atom, _B, _CNN, _DAY_RE, _E, _F, _HOUR_WORD, _MON_RE, _NOT_NUM_BEFORE,
    _NUMCN, _NUM_EN, _PERIODS, _QTY_EN, _WD_RE, _YEAR_RE)
from bot.dates.english import (_h_24, _h_ampm, _h_at, _h_bizday, _h_compound, _h_dateword_hour, _h_dmy_dot,
    _h_edge_abbr, _h_edge_en, _h_half, _h_holiday, _h_hour_period, _h_in_qty, _h_iso, _h_md, _h_month_only,
    _h_now, _h_numeric, _h_oclock, _h_ordinal, _h_period_en, _h_qty_after, _h_range, _h_rel_day_en,
    _h_rel_unit_en, _h_time_word, _h_week_after_next, _h_weekday_en, _h_weekend_en)
from bot.dates.chinese import (_h_cn_dom, _h_cn_guo, _h_cn_md, _h_cn_month, _h_cn_month_edge,
    _h_cn_month_only, _h_cn_now, _h_cn_offset, _h_cn_period, _h_cn_quarter, _h_cn_rel, _h_cn_time,
    _h_cn_week, _h_cn_weekday, _h_cn_weekend, _h_cn_year, _h_cn_year_edge)

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
