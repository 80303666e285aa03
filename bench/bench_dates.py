"""Benchmark bot.dates.parse_when.

Run:  .venv/bin/python bench/bench_dates.py [--repeat N]

Warms up, then times parse_when over a fixed set of English and Chinese
phrases (both prefer directions) and prints median / p99 microseconds per
call, overall and split by the layer that answered (rule layer, dateparser
fallback, or no date found).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.dates import _parse, parse_when  # noqa: E402  (_parse also reports the layer)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

PHRASES = [
    # English
    "tomorrow 3pm", "in 90 minutes", "friday 4pm", "jan 15", "end of month",
    "yesterday at 4pm", "2 hours ago", "today", "tonight", "tomorrow", "day after tomorrow",
    "yesterday", "day before yesterday", "this morning", "this afternoon", "this evening",
    "tomorrow morning", "tomorrow night", "last night", "noon", "midnight", "eod",
    "at 4", "4pm", "9am", "16:30", "4:30pm", "3 o'clock", "half past 3", "quarter to 5",
    "friday", "monday", "monday 3pm", "next friday", "this friday", "last friday",
    "coming monday", "friday after next", "next week friday", "tues 2pm", "thursday at 10am",
    "next week", "last week", "next month", "last month", "next year", "next quarter",
    "this weekend", "next weekend", "end of week", "end of year", "eoy", "end of next month",
    "beginning of next month", "early next week", "in 10 minutes", "in 2 hours",
    "in an hour", "in half an hour", "in 1.5 hours", "in 3 days", "in a week", "in 2 weeks",
    "in 2 months", "in a year", "2 days from now", "a fortnight from now", "3 days ago",
    "2 weeks ago", "a month ago", "30 minutes ago", "2026-12-01", "2026-12-01 14:30",
    "12/01", "1/15/2027", "1 Dec", "Dec 1st", "december 1 at 10am", "Dec 1st, 2027",
    "the 15th", "15th of next month", "in december", "christmas", "tomorrow 10",
    "at 3pm on friday", "3pm tomorrow", "tomorrow at midnight", "friday eod",
    # Chinese
    "明天下午3点", "下周五下午2点", "3天后", "今晚8点", "月底", "昨天下午4点", "上周五",
    "今天", "明天", "后天", "大后天", "昨天", "前天", "明天上午10点", "明天早上8点",
    "明天中午", "明天晚上", "明天凌晨3点", "今晚", "明早", "明晚7点", "下午3点", "晚上8点",
    "3点", "3点半", "3点15分", "十点半", "15:30", "周五", "星期五", "礼拜五", "下周五",
    "这周五", "本周五", "下下周五", "周五下午", "下周", "下个月", "上个月", "月初", "年底",
    "周末", "下周末", "明年", "下个月5号", "2小时后", "10分钟后", "3天前", "5小时前",
    "半小时后", "一小时后", "一个半小时后", "两天后", "一周后", "两周前", "3个月后",
    "过两天", "12月1日", "12月1号", "2026年12月1日", "1月15日", "十二月一日", "15号",
    "明天１５：３０", "３天后", "三天后下午2点", "明年3月5日",
    # phrases the rules leave to dateparser
    "1 year, 2 months ago", "12-01",
    # not dates
    "call", "hello", "12000", "discussed pricing", "may", "sun", "you may want to call",
]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="timed calls per phrase and prefer")
    args = ap.parse_args()

    cases = [(p, pref) for p in PHRASES for pref in ("future", "past")]

    # warm-up: imports, regex caches, dateparser's lazy locale loading
    for _ in range(3):
        for p, pref in cases:
            parse_when(p, now=NOW, prefer=pref)

    layer_of = {}
    for p, pref in cases:
        layer_of[(p, pref)] = _parse(p, NOW, pref)[1] or "none"

    times: dict[str, list[float]] = {"rules": [], "dateparser": [], "none": []}
    per_phrase_median: dict[str, list[float]] = {"rules": [], "dateparser": [], "none": []}
    for p, pref in cases:
        layer = layer_of[(p, pref)]
        samples = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            parse_when(p, now=NOW, prefer=pref)
            samples.append((time.perf_counter() - t0) * 1e6)
        times[layer].extend(samples)
        per_phrase_median[layer].append(statistics.median(samples))

    total_cases = len(cases)
    all_times = [t for v in times.values() for t in v]
    print(f"parse_when benchmark: {len(PHRASES)} phrases x 2 prefer = {total_cases} cases, "
          f"{args.repeat} timed calls each, now={NOW.isoformat()}")
    print()
    header = f"{'layer':<12}{'cases':>7}{'share':>8}{'median us':>12}{'p99 us':>10}{'max us':>10}"
    print(header)
    print("-" * len(header))
    for layer in ("rules", "dateparser", "none"):
        n = len(per_phrase_median[layer])
        t = times[layer]
        print(f"{layer:<12}{n:>7}{n / total_cases:>8.1%}{statistics.median(t) if t else float('nan'):>12.1f}"
              f"{_pct(t, 0.99):>10.1f}{max(t) if t else float('nan'):>10.1f}")
    print("-" * len(header))
    print(f"{'all':<12}{total_cases:>7}{1:>8.0%}{statistics.median(all_times):>12.1f}"
          f"{_pct(all_times, 0.99):>10.1f}{max(all_times):>10.1f}")
    print()
    print("rules = answered by the rule layer; dateparser = fallback; none = no date found")


if __name__ == "__main__":
    main()
