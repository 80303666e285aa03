"""The public entry points, ``parse_when`` and ``extract_when``, and the dateparser fallback for whole
phrases the rules do not cover.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Optional

from bot.dates.numerals import _normalize
from bot.dates.scan import _DATEISH_RE, _FILLER_RE, _Group, _PREP_TAIL_RE, _groups, _scan
from bot.dates.resolve import _evaluate, _localize, _safe_date

_PREFERS = ("future", "past")
_MAX_TEXT = 20_000          # characters scanned by the rule layer
_MAX_DATEPARSER_TEXT = 80   # longer text never goes to dateparser

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


def impossible_date(text: str) -> Optional[tuple[Optional[int], int, int]]:
    """``(year or None, month, day)`` of a calendar date in ``text`` that no year has ("31 February",
    "April 31st", "2月30日"), or that the year given lacks ("29 feb 2027"); None when there is none.

    ``parse_when`` and ``extract_when`` find no date in such text; a caller uses this to say why
    ("February has no 31st") instead of "no date found".
    """
    if not isinstance(text, str) or not text.strip():
        return None
    s = _normalize(text[:_MAX_TEXT])
    for g in _accepted(s, _candidates(s)):
        if g.date is not None and g.date[0] == "md":
            year, month, day = g.date[1], g.date[2], g.date[3]
            # 2024 is a leap year: a day it lacks is in no year
            if _safe_date(year if year is not None else 2024, month, day) is None:
                return year, month, day
    return None
