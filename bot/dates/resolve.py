"""Resolution: a phrase group and ``now`` become an aware datetime on the wall clock of ``now``'s zone
(the conventions are in the package docstring).
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

from bot.dates.atoms import _PERIODS, _adjust_hour, _business_hour
from bot.dates.scan import _Group

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


def _edge_step(spec, d: date, today: date, cand: datetime, now_naive: datetime, prefer: str) -> int:
    """An unqualified period edge that falls on today ("end of month" on its last day, "end of week"
    on Friday) moves to the next period once its moment has passed with prefer future, and to the
    previous one while it is still ahead with prefer past; with "this" it is taken as said."""
    if spec[0] not in ("end", "start", "mid", "late") or spec[2] is not None or d != today:
        return 0
    if prefer == "future" and cand < now_naive:
        return 1
    if prefer == "past" and cand > now_naive:
        return -1
    return 0


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
            step = _edge_step(g.date, d, today, cand, now_naive, prefer)
            if step:
                cand = datetime.combine(_edge(g.date[0], g.date[1], today, step), time()) + timedelta(seconds=tsec)
        return _localize(cand, tz)
    except (OverflowError, ValueError):
        return None
