"""Where the server's CPU goes, from py-spy's collapsed stacks (``bench/load.py --profile DIR``).

    .venv/bin/python bench/profile_summary.py DIR/instance1.txt [--top 12]

Each sample is put on one hot path by the code it runs through (the inbox relay, a Slack
request, a Telegram update, the scheduler, else the server's own loop), and its time is
charged to the library its innermost frame is in (self time). Then the functions of ours with
the most time under them (inclusive), per path. Shares are of all samples in the file.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
OURS = re.compile(r"(?:^|/)(bot|crm|handlers|integrations|scheduler)/([\w/]+)\.py$")

PATHS = [  # first match wins: the relay posts through the Slack adapter, so it comes first
    ("inbox relay (outbox → Slack/Telegram)", ("inbox_relay.py", "relay_pacing.py")),
    ("Slack request (ack → answer)", ("integrations/slack", "slack_bolt/", "command_journal.py")),
    ("Telegram update (→ stored)", ("integrations/telegram", "/telegram/")),
    ("scheduler", ("scheduler/", "apscheduler/")),
]

LIBRARIES = [
    ("SQLite driver", ("sqlite3", "dialects/sqlite")),
    ("SQLAlchemy / SQLModel", ("sqlalchemy/", "sqlmodel/")),
    ("slack-bolt", ("slack_bolt/",)),
    ("slack_sdk", ("slack_sdk/",)),
    ("python-telegram-bot", ("/telegram/",)),
    ("HTTP server (uvicorn, starlette)", ("uvicorn/", "starlette/", "httptools", "h11/")),
    ("HTTP client (aiohttp, httpx)", ("aiohttp/", "httpx/", "httpcore/", "yarl/", "multidict/")),
    ("json", ("json/",)),
    ("pydantic", ("pydantic",)),
    ("asyncio, threads, selectors", ("asyncio/", "concurrent/", "threading.py", "selectors.py", "uvloop")),
    ("logging", ("logging/",)),
    ("urllib, email, http parsing", ("urllib/", "email/", "http/")),
    ("signatures (hmac, hashlib)", ("hmac.py", "hashlib.py")),
    ("regular expressions, dateparser, zoneinfo", ("dateparser/", "regex/", "re/", "sre_", "zoneinfo")),
]


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    samples = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            m = FRAME.match(raw.strip())
            frames.append((m.group("func"), m.group("file")) if m else (raw.strip(), ""))
        samples.append((frames, int(count)))
    return samples


def hot_path(frames) -> str:
    files = [f for _, f in frames]
    for name, marks in PATHS:
        if any(mark in f for f in files for mark in marks):
            return name
    return "server loop and other"


def library(func: str, file: str) -> str:
    m = OURS.search(file)
    if m:
        return f"ours: {m.group(1)}/{m.group(2)}.py"
    for name, marks in LIBRARIES:
        if any(mark in file for mark in marks):
            return name
    if not file:
        return func or "native"
    parts = Path(file).parts
    return parts[parts.index("site-packages") + 1] if "site-packages" in parts else Path(file).name


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("profiles", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    for profile in args.profiles:
        samples = parse(profile)
        total = sum(n for _, n in samples) or 1
        by_path: Counter = Counter()
        self_time: dict[str, Counter] = defaultdict(Counter)
        inclusive: dict[str, Counter] = defaultdict(Counter)
        for frames, n in samples:
            path = hot_path(frames)
            by_path[path] += n
            func, file = frames[-1]
            self_time[path][library(func, file)] += n
            seen = set()
            for func, file in frames:
                m = OURS.search(file)
                if m and (func, m.group(2)) not in seen:
                    seen.add((func, m.group(2)))
                    inclusive[path][f"{m.group(1)}/{m.group(2)}.py:{func}"] += n
        print(f"\n{profile} — {total:,} samples of CPU (100 per second)")
        for path, n in by_path.most_common():
            print(f"\n{path}: {n / total:6.1%} of the server's CPU")
            print("  self time by library:")
            for name, k in self_time[path].most_common(args.top):
                print(f"    {k / total:6.1%}  {name}")
            print("  inclusive, our functions:")
            for name, k in inclusive[path].most_common(args.top):
                print(f"    {k / total:6.1%}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
