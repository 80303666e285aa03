"""Normalising typed text (full-width forms, quotes, dashes; same length, so spans map back) and
reading numbers: Chinese numerals, English number words, ordinals.
"""
from __future__ import annotations

import re
from typing import Optional

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
