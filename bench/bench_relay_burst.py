"""A burst of customer messages into one Slack inbox channel, against Slack's real posting limit.

    .venv/bin/python bench/bench_relay_burst.py [--messages 5000] [--customers 10] [--rate 1.0]
                                                [--timeout 900]

The real app (Telegram webhook + inbox relay + Slack adapter, uvicorn on loopback) takes
``--messages`` Telegram messages from ``--customers`` chats, all at once; the Slack stand-in
enforces chat.postMessage's per-channel limit (``--rate`` per second, a burst of 3) and answers
429 + Retry-After beyond it, as Slack does. Checked: every message reached Slack exactly once,
in each chat's order; no post was refused. Prints how many posts carried the messages, how
long the relay took, and the achieved post rate against the limit (the reference measured in
the same run), plus ``BENCH relay.*`` lines for bench/run_all.py.

Bounded time: ``--timeout`` (seconds from the first message) caps the wait for the relay; a run
that has not drained by then still prints its figures, counting what had not reached Slack as
lost, and exits 1. ``--rate R`` scales Slack's clock: the stand-in's limit and the relay's pace
(``relay_pacing.RATE_PER_CHANNEL``) both become R posts/s, so the same burst is relayed R times
faster. The stand-in then allows a burst of 2 + R posts (3 at the real 1/s): one second's worth
beyond the relay's own burst of 2, so that the time between a post's slot and its arrival (the
claim and rendering on a loaded machine) is not counted as a breach; the long-run rate is
enforced exactly. At 1/s, 5,000 messages from 10 chats take about as long as their ingestion
(the relay coalesces while they arrive), a few minutes on this machine.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.settings import Settings  # noqa: E402
from crm.db import Database  # noqa: E402
from integrations import relay_pacing  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramApi  # noqa: E402
from tests.helpers import make_team  # noqa: E402
from tests.slack_harness import all_text  # noqa: E402
from tests.telegram_support import TelegramBot, telegram_settings  # noqa: E402


class Clock:
    def __call__(self):
        return datetime.now(timezone.utc)

    @property
    def now(self):
        return self()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--customers", type=int, default=10)
    p.add_argument("--rate", type=float, default=1.0, help="Slack's posts per second per channel")
    p.add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    relay_pacing.RATE_PER_CHANNEL = args.rate
    each = args.messages // args.customers
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/crm.db"
        db = Database(url)
        db.upgrade()
        make_team(db)
        slack, telegram = FakeSlackApi().start(), FakeTelegramApi().start()
        slack.limit_rate("chat.postMessage", per_second=args.rate, burst=relay_pacing.BURST + max(1, round(args.rate)))
        settings = Settings(_env_file=None, database_url=url, crm_timezone="UTC",
                            business_hours="00:00-23:59", business_days="mon,tue,wed,thu,fri,sat,sun")
        bot = TelegramBot(db, telegram_settings(settings, telegram, slack=slack), Clock(), telegram, slack=slack)
        chats = [900_000 + n for n in range(args.customers)]
        started = time.perf_counter()

        def write(chat: int) -> None:
            for n in range(each):
                bot.say(chat, f"m{chat}-{n:05d} " + "can you check the order status please " [: 8 + (n * 7) % 30])

        writers = [threading.Thread(target=write, args=(c,)) for c in chats]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        ingested = time.perf_counter() - started
        try:
            bot.settle(timeout=max(1.0, args.timeout - (time.perf_counter() - started)))
            drained = True
        except AssertionError:  # what reached Slack by the deadline is reported; the rest counts as lost
            drained = False
        relayed = time.perf_counter() - started
        posts = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0INBOX"]
        refused = [c for c in posts if not c.ok]
        ok = [c for c in posts if c.ok]
        seen: dict[int, list[int]] = {c: [] for c in chats}
        for call in ok:
            # a note quoting a message ("> m…", e.g. what it was understood as) is not the message
            for chat, n in dict.fromkeys(re.findall(r"(?<!> )(?<!&gt; )m(\d+)-(\d{5})",
                                                    json.dumps(call.params, ensure_ascii=False))):
                seen[int(chat)].append(int(n))
        in_order = all(seen[c] == list(range(each)) for c in chats)
        lost = sum(len(set(range(each)) - set(seen[c])) for c in chats)
        twice = sum(len(seen[c]) - len(set(seen[c])) for c in chats)
        span = (ok[-1].at - ok[0].at) if len(ok) > 1 else 0.0
        achieved = (len(ok) - 1) / span if span else 0.0
        bot.close()
        slack.stop()
        telegram.stop()
        db.dispose()
    total = each * args.customers
    print(f"Relay burst: {total:,} customer messages from {args.customers} chats into one inbox channel")
    print(f"  ingested (webhook -> stored)   {ingested:8.1f} s")
    print(f"  all in Slack after             {relayed:8.1f} s")
    print(f"  posts                          {len(ok):8,d}   ({total / max(1, len(ok)):.1f} messages a post)")
    if not drained:
        print(f"  NOT DRAINED within --timeout {args.timeout:.0f} s: undelivered messages count as lost")
    print(f"  post rate                      {achieved:8.2f} /s  (Slack's limit {args.rate:.2f} /s, "
          f"burst {relay_pacing.BURST + max(1, round(args.rate))})")
    print(f"  refused (429)                  {len(refused):8,d}")
    print(f"  lost {lost}   twice {twice}   in order {'yes' if in_order else 'NO'}")
    print(f"  without coalescing: {total:,} posts = {total / args.rate / 60:.0f} min at the limit")
    print(f"BENCH relay.messages={total}")
    print(f"BENCH relay.posts={len(ok)}")
    print(f"BENCH relay.seconds={relayed:.1f} s")
    print(f"BENCH relay.rate={achieved:.2f} /s")
    print(f"BENCH relay.limit={args.rate:.2f} /s")
    print(f"BENCH relay.refused={len(refused)}")
    print(f"BENCH relay.lost={lost + twice + (0 if in_order else 1)}")
    return 0 if drained and not refused and not lost and not twice and in_order else 1


if __name__ == "__main__":
    sys.exit(main())
