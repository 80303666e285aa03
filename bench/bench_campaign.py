"""Messages per second of a campaign send against the rate limit it must respect.

    .venv/bin/python bench/bench_campaign.py [--recipients 600] [--rate 30] [--latency-ms 0] [--db URL]

A fresh SQLite store (or --db) with N reachable customers, one confirmed campaign, and the
real CampaignRunner sending through python-telegram-bot to the Bot API stand-in
(tests/fakes/telegram_api.py) over loopback HTTP. Prints the achieved rate (first to last
sendMessage as the stand-in saw them), the busiest one-second window (as the sender started
requests, and as the stand-in received them), and the total time.
``--latency-ms`` delays each stand-in answer, to see that the workers keep the rate with a
remote Telegram's round trip.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from crm.campaigns import lifecycle, segments  # noqa: E402
from crm.campaigns.sender import CampaignRunner  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Campaign, Customer  # noqa: E402
from integrations.telegram.campaign import TelegramCampaignMessenger  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeTelegramApi  # noqa: E402


class TimedApi(FakeTelegramApi):
    def __init__(self, latency: float):
        super().__init__()
        self.latency = latency
        self.arrivals: list[float] = []
        self.starts: list[float] = []

    async def _api(self, request):
        if request.match_info.get("method") == "sendMessage":
            self.arrivals.append(time.monotonic())
            if self.latency:
                await asyncio.sleep(self.latency)
        return await super()._api(request)


def prepare(db: Database, n: int, now: datetime) -> int:
    rows = [dict(name=f"Bench {i}", name_key=f"bench {i}", telegram_chat_id=900_000 + i, tier="vip", stage="active",
                 language="zh" if i % 3 == 0 else "en", marketing_opt_out=False, telegram_blocked=False, tags="",
                 search_text="", search_cjk="", created_at=now, updated_at=now) for i in range(n)]
    with db.session() as s:
        s.execute(insert(Customer), rows)
        campaign = Campaign(name=f"bench-{time.time_ns()}", segment="tier=vip", message_en="Hello from the bench",
                            message_zh="基准测试", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=1))
        s.add(campaign)
        s.flush()
        lifecycle.begin_sending(s, campaign, segments.parse_segment(s, "tier=vip"), now)
        return campaign.id


async def send(db: Database, api: TimedApi, campaign_id: int, rate: float) -> float:
    runner = CampaignRunner(db, lambda: TelegramCampaignMessenger(TOKEN, api.api_url), rate=rate, poll_seconds=0.2)
    limiter_acquire = runner.limiter.acquire

    async def acquire_and_note():
        await limiter_acquire()
        api.starts.append(time.monotonic())

    runner.limiter.acquire = acquire_and_note  # when our side let each request go
    started = time.monotonic()
    await runner.start()
    while True:
        with db.session() as s:
            if s.get(Campaign, campaign_id).status == "sent":
                break
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    await runner.stop()
    return elapsed


def busiest_second(times: list[float]) -> int:
    best, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=600)
    parser.add_argument("--rate", type=float, default=30.0, help="the limit to respect (Telegram: 30/s)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to each stand-in answer")
    parser.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench-campaign-')}/crm.db"
    db = Database(url)
    db.upgrade()
    now = datetime.now(timezone.utc)
    campaign_id = prepare(db, args.recipients, now)
    api = TimedApi(args.latency_ms / 1000).start()
    try:
        elapsed = asyncio.run(send(db, api, campaign_id, args.rate))
    finally:
        api.stop()
    times = sorted(api.arrivals)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span if span else float("nan")
    print(f"campaign send: {len(times):,} messages to {args.recipients:,} recipients "
          f"(store {db.dialect}, stand-in latency {args.latency_ms:g} ms)")
    print(f"  limit            {args.rate:6.1f} msg/s")
    print(f"  achieved         {achieved:6.2f} msg/s  (first to last sendMessage, {span:.1f} s)")
    print(f"  busiest second   {busiest_second(sorted(api.starts)):6d} requests started by the sender, "
          f"{busiest_second(times)} arrivals at the stand-in (loopback and scheduling jitter)")
    print(f"  total time       {elapsed:6.1f} s  (runner start to campaign marked sent)")
    db.dispose()


if __name__ == "__main__":
    main()
