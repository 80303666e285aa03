"""Staff replies in Slack ticket threads → the customers' Telegram chats, through the whole path.

    .venv/bin/python bench/bench_slack_reply.py [--n 1000] [--tickets 100] [--clients 20] [--profile DIR]

The real `crm-bot run` in its own process; the Slack and Telegram stand-ins in another
(bench/fakes_process.py); this process plays Slack, POSTing signed Events API ``message`` events
(a staff member writing in a ticket's thread) to /slack/events. Measured: events acknowledged per
second, and replies delivered per second (until every reply's outbox row is sent to Telegram).
``--profile DIR`` samples the server with py-spy (as bench/load.py does) and prints
bench/profile_summary.py's split of it. A raw sqlite3 insert loop in the same run is the reference.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.bench_telegram_ingest import raw_ceiling  # noqa: E402
from bench.common import cpu_seconds, wait_until  # noqa: E402
from bench.fakes_process import FakesProcess  # noqa: E402
from bench.load import (SIGNING_SECRET, Server, free_port, prepare_store, server_env, start_profiler,  # noqa: E402
                        stop_profiler)
from crm.db import Database  # noqa: E402
from crm.models import Customer, Ticket  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi, sign  # noqa: E402

FIRST_CHAT = 700_000


def prepare(url: str, tickets: int) -> list[str]:
    """Staff on Slack, and customers on Telegram each with an open ticket whose thread is in the inbox channel."""
    slack_ids, _ = prepare_store(url, staff=10, customers=0)
    db = Database(url)
    with db.session() as s:
        for n in range(tickets):
            customer = Customer(name=f"Reply Bench {n}", name_key=f"reply bench {n}", telegram_chat_id=FIRST_CHAT + n)
            s.add(customer)
            s.flush()
            s.add(Ticket(customer_id=customer.id, status="open", subject="bench", slack_channel="C0INBOX",
                         slack_thread_ts=f"1700000000.{n:06d}"))
    db.dispose()
    return slack_ids


def events(n: int, tickets: int, staff: list[str]) -> list[bytes]:
    ts = itertools.count(1)
    out = []
    for i in range(n):
        t = i % tickets
        event = {"type": "message", "channel": "C0INBOX", "channel_type": "channel", "user": staff[i % len(staff)],
                 "text": f"Reply {i}: your order ships *tomorrow* 明天发货", "ts": f"1700000100.{next(ts):06d}",
                 "thread_ts": f"1700000000.{t:06d}", "team": FakeSlackApi.TEAM_ID}
        out.append(json.dumps({"token": "legacy", "team_id": FakeSlackApi.TEAM_ID, "api_app_id": "A0FAKE",
                               "event": event, "type": "event_callback", "event_id": f"EvBench{i:08d}",
                               "event_time": int(time.time()),
                               "authorizations": [{"team_id": FakeSlackApi.TEAM_ID,
                                                   "user_id": FakeSlackApi.BOT_USER_ID, "is_bot": True}]}).encode())
    return out


async def post_all(url: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    gate = asyncio.Semaphore(clients)
    failed = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients, keepalive_timeout=2.0)) as http:

        async def one(body: bytes) -> None:
            nonlocal failed
            headers = {"Content-Type": "application/json", **sign(body.decode(), SIGNING_SECRET)}
            async with gate:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    failed += response.status != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started, failed


def sent(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbox_outbox WHERE target = 'telegram' AND status = 'sent'")).scalar()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--tickets", type=int, default=100)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--profile", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reply-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'app.db'}"
        staff = prepare(url, args.tickets)
        fakes = FakesProcess()
        server = Server(server_env(url, fakes.slack, fakes.telegram), free_port(), folder, "instance1")
        db = Database(url)
        profiler = None
        try:
            server.start()
            if args.profile:
                profiler = start_profiler(server, args.profile)
            cpu_before = cpu_seconds(server.proc.pid)
            started = time.perf_counter()
            ack_seconds, failed = asyncio.run(post_all(server.base + "/slack/events",
                                                       events(args.n, args.tickets, staff), args.clients))
            wait_until(lambda: sent(db) >= args.n, 300)
            delivered_seconds = time.perf_counter() - started
            delivered = sent(db)
            cpu = cpu_seconds(server.proc.pid) - cpu_before
            if profiler:
                stop_profiler(profiler)
        finally:
            server.stop()
            fakes.stop()
            db.dispose()
        raw = raw_ceiling(folder, 2000)
    print(f"Slack thread replies -> Telegram, {args.n:,} events over {args.tickets} tickets, {args.clients} in flight")
    print(f"  raw sqlite3 insert loop (reference): {raw:8,.0f} rows/s")
    print(f"  acknowledged {args.n / ack_seconds:7,.0f}/s = x{args.n / ack_seconds / raw:.3f};  delivered to Telegram "
          f"{delivered / delivered_seconds:7,.0f}/s = x{delivered / delivered_seconds / raw:.3f};  "
          f"{delivered}/{args.n} delivered, {failed} non-200")
    print(f"  server CPU per reply (ack, store, relay to Telegram): {cpu / args.n * 1000:.1f} ms; delivery is paced "
          f"by python-telegram-bot's AIORateLimiter at Telegram's ~30 messages/s per bot")
    print(f"BENCH slack_reply.delivered_ratio={delivered / delivered_seconds / raw:.3f} x")
    if args.profile:
        subprocess.run([sys.executable, str(ROOT / "bench" / "profile_summary.py"),
                        str(args.profile / "instance1.txt")], check=False)


if __name__ == "__main__":
    main()
