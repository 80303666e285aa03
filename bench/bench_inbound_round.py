"""CPU per update of the Telegram processor's store part, in-process: rounds of ``InboundProcessor`` over N
stored raw updates (issue 17).

    .venv/bin/python bench/bench_inbound_round.py [--n 6000] [--chats 100] [--repeat 3] [--baseline REF]
                                                  [--profile FILE]

What ``bench_telegram_ingest.py`` cannot separate: its 'server CPU per update' is the whole server (HTTP
edge, ack group commit, reading the messages, the relay). Here the raw updates are already durable in
``telegram_inbound`` (as the webhook leaves them, with its parsed JSON handed over), every chat has a
customer and an open ticket, and the messages' readings (crm/understanding, another part of the path) are
computed before the clock starts and looked up during it. What is timed is what remains of a processor
round: the ``_pending`` read, the plain-text reader, the write transaction (the batch store of the claims,
interactions, outbox rows, ticket and customer updates on the DBAPI cursor, crm/direct_sql.py; mark
processed; on SQLite the next round's rows, read under the same write lock), and the thread hops and
yields between them. Process CPU (every thread: SQLite's C work included) per update.

The reference, measured in the same run: ``--baseline REF``'s code (default 1bdeb89, main before this
session's issue-17 work; git archive into a temporary folder) runs this same script in a process of its
own, and so does this code; the repeats alternate them (ABBA), each on a fresh store, and the ratio of
this code's CPU per update to the baseline's is printed per repeat and as their median.

``--relay``: then the relay's share of the same traffic: ``InboxRelay.drain`` once after every round (as
the processor's wake does), with a Slack inbox whose posts return at once, its lanes stopped after they
took their channel slot (what happens in a burst: the channel's pace queues them).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]  # the code measured: this checkout, or --baseline's copy of it
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import TEXT, round_robin_updates, unprocessed  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm import telegram_inbound  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.inbox import batch as inbound_batch  # noqa: E402
from crm.inbox.binding import ChatPerson, ensure_customer  # noqa: E402
from crm.inbox.tickets import store_inbound  # noqa: E402
from integrations.telegram.customer import CustomerChat  # noqa: E402
from integrations.telegram.inbound import InboundProcessor  # noqa: E402

FIRST_CHAT = 600_000
BASELINE = "1bdeb89"  # main before this session's issue-17 work
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def stub_adapter(db, settings):
    """What the processor uses of the Telegram adapter, for plain messages of open tickets."""
    adapter = SimpleNamespace(db=db, settings=settings, inbound=SimpleNamespace(parsed={}),
                              application=SimpleNamespace(bot=None), wake=lambda: None)
    adapter.app = SimpleNamespace(engine=SimpleNamespace(ports=SimpleNamespace(team_inbox=object()),
                                                         clock=lambda: T0), state=SimpleNamespace())
    adapter.customers = CustomerChat(adapter)
    return adapter


def seed(db, settings, chats: int) -> None:
    """Every chat a customer with an open ticket (its first message, the ORM way)."""
    for c in range(chats):
        chat = FIRST_CHAT + c
        with db.write_session() as s:
            customer, _ = ensure_customer(s, ChatPerson(chat_id=chat, first_name=f"Bench{c}", language_code="en"))
            store_inbound(s, customer, chat_id=chat, message_id=1, text="hello", occurred_at=T0, settings=settings,
                          relay=True, details={"raw_text": "hello"})


def updates(chats: int, n: int, start: int) -> list[dict]:
    return round_robin_updates(n, chats, first_chat=FIRST_CHAT, start_id=start, date=int(T0.timestamp()) + 60,
                               message_offset=2)


def append(db, adapter, batch: list[dict]) -> None:
    """As the webhook leaves them: stored in group commits of ~20, the parsed JSON kept for the processor."""
    for start in range(0, len(batch), 20):
        part = batch[start:start + 20]
        with db.write_connection() as conn:
            telegram_inbound.append(conn, [(u["update_id"], u["message"]["chat"]["id"], json.dumps(u)) for u in part])
        for u in part:
            adapter.inbound.parsed[u["update_id"]] = u


async def drain(processor, relay=None) -> int:
    rounds = 0
    while True:
        singles, queued, erased, full = await processor._round(frozenset())
        assert not singles, "the bench's updates are all plain messages of open tickets"
        rounds += 1
        if relay is not None and queued:
            await relay.drain()
        if not full and getattr(processor, "_next", None) is None:  # (SQLite) as the processor's loop goes on
            return rounds


async def paced(db, adapter, processor, batch: list[dict], size: int, relay=None) -> int:
    """As in the server under a steady stream: ``size`` updates acknowledged, then a round over them."""
    rounds = 0
    for start in range(0, len(batch), size):
        await asyncio.to_thread(append, db, adapter, batch[start:start + size])
        rounds += await drain(processor, relay)
    return rounds


def run(n: int, chats: int, repeat: int, profile: Path | None, with_relay: bool, size: int) -> list[float]:
    logging.basicConfig(level=logging.WARNING)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-inbound-round-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'app.db'}"
        settings = Settings(_env_file=None, database_url=url, crm_timezone="UTC", business_hours="00:00-23:59",
                            business_days="mon,tue,wed,thu,fri,sat,sun", slack_inbox_channel="C0INBOX")
        db = Database(url)
        db.upgrade()
        seed(db, settings, chats)
        adapter = stub_adapter(db, settings)
        # the readings (crm/understanding: another part of the path) computed before the clock starts
        texts = {TEXT.format(i=i) for i in range(n)}
        readings = {t: inbound_batch.read_message(t) for t in texts}
        inbound_batch.read_message = readings.__getitem__
        inbound_batch.read_messages = lambda batch: [readings[t] for t in batch]
        relay = stub_relay(db, settings) if with_relay else None
        for r in range(repeat):
            batch = updates(chats, n, 1_000_000 * (r + 1))
            processor = InboundProcessor(adapter)
            append_cpu = 0.0
            if not size:
                append(db, adapter, batch)
            else:  # the appends' CPU is timed alone and taken off
                probe = updates(chats, n, 1_000_000 * (r + 1) + 500_000)
                append_cpu = time.process_time()
                for start in range(0, n, size):
                    append(db, adapter, probe[start:start + size])
                append_cpu = time.process_time() - append_cpu
                asyncio.run(drain(processor))
            profiler = cProfile.Profile() if profile and r == repeat - 1 else None
            if profiler:  # cProfile sees one thread: the store's work runs inline for the profile
                async def inline(fn, *args, **kw):
                    return fn(*args, **kw)
                asyncio.to_thread = inline
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            rounds = asyncio.run(paced(db, adapter, processor, batch, size, relay) if size else drain(processor, relay))
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu - append_cpu, time.perf_counter() - wall
            assert unprocessed(db) == 0
            with db.engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM interaction WHERE source_platform='telegram'")).scalar()
            assert stored == chats + n * (r + 1) * (2 if size else 1), stored
            results.append(cpu * 1000 / n)
            print(f"  round {r + 1}: {n:,} updates in {rounds} rounds, {cpu * 1000 / n:.3f} ms CPU per update "
                  f"({wall * 1000 / n:.3f} ms wall)")
            if profiler:
                profiler.dump_stats(profile)
                pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(40)
        db.dispose()
    return results


def stub_relay(db, settings):
    """The inbox relay with a Slack inbox that answers at once; lanes end once they took their slot."""
    from integrations.inbox_relay import InboxRelay

    class Inbox:
        async def post_blocks(self, channel, thread_ts, text_, blocks):
            return f"{time.time():.6f}"

        async def post(self, channel, thread_ts, reply):
            return f"{time.time():.6f}"

        async def open_thread(self, channel, owner, card):
            return channel, f"{time.time():.6f}"

    async def in_background(fn, *args):
        return await asyncio.to_thread(fn, *args)

    app = SimpleNamespace(db=db, settings=settings, instance="bench", in_background=in_background,
                          engine=SimpleNamespace(ports=SimpleNamespace(team_inbox=Inbox(), customer_inbox=None)),
                          state=SimpleNamespace())
    relay = InboxRelay(app, telegram=None)
    return relay


def worker_args(args, profile: Path | None) -> list[str]:
    return ["--worker", "--n", str(args.n), "--chats", str(args.chats), "--repeat", "1",
            "--round-size", str(args.round_size), *(["--relay"] if args.relay else []),
            *(["--profile", str(profile)] if profile else [])]


def measure(code: Path, args, profile: Path | None) -> float:
    """One repeat of ``code``'s processor (this script run on that code, a fresh store): CPU ms per update."""
    script = code / "bench" / Path(__file__).name  # with this checkout's bench/common.py beside it
    done = subprocess.run([sys.executable, str(script), *worker_args(args, profile)], cwd=code, timeout=1800,
                          env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{code}: the bench failed\n{done.stdout}\n{done.stderr}")
    *lines, last = done.stdout.strip().splitlines()
    if profile:  # its cProfile's table
        print("\n".join(lines))
    result = json.loads(last)
    if Path(result["code"]) != code:  # the modules measured are the code's own, not this checkout's
        raise SystemExit(f"{code}: measured the code of {result['code']}")
    return result["cpu_ms"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the reference code ('' to skip)")
    parser.add_argument("--profile", type=Path, help="cProfile of this code's last repeat into this file (and printed)")
    parser.add_argument("--relay", action="store_true", help="the relay's drain after each round too")
    parser.add_argument("--round-size", type=int, default=20, help="updates appended before each round, as the "
                        "server's group commits leave them (~20 in bench_telegram_ingest); 0: all, then rounds")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one code's repeats, as JSON
    args = parser.parse_args()
    if args.worker:
        results = run(args.n, args.chats, args.repeat, args.profile, args.relay, args.round_size)
        print(json.dumps({"code": str(ROOT), "cpu_ms": results}))
        return
    print(f"InboundProcessor rounds over {args.n:,} stored plain updates of {args.chats} open tickets"
          + (", with the relay's drain" if args.relay else ""), flush=True)
    variants: list[tuple[str, Path]] = [("this code", ROOT)]
    if args.baseline:
        from bench.load import checkout

        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline], capture_output=True,
                                text=True, check=True).stdout.strip()
        folder = checkout(commit)
        (folder / "bench").mkdir(exist_ok=True)
        for name in (Path(__file__).name, "common.py"):  # this bench and its helpers, run on that code
            shutil.copy(Path(__file__).with_name(name), folder / "bench" / name)
        variants.insert(0, (f"baseline {commit}", folder))
    results: dict[str, list[float]] = {label: [] for label, _ in variants}
    try:
        for r in range(args.repeat):
            for label, code in (variants if r % 2 == 0 else list(reversed(variants))):
                profile = args.profile if args.profile and code == ROOT and r == args.repeat - 1 else None
                results[label].append(measure(code, args, profile))
                print(f"  repeat {r + 1} {label:<18} {results[label][-1]:.3f} ms CPU per update", flush=True)
    finally:
        for _, code in variants:
            if code != ROOT:
                shutil.rmtree(code, ignore_errors=True)
    for label, runs in results.items():
        print(f"  {label:<18} best {min(runs):.3f} ms, median {statistics.median(runs):.3f} ms CPU per update")
    if len(variants) == 2:
        base, this = (results[label] for label, _ in variants)
        ratios = [t / b for b, t in zip(base, this)]
        print(f"  this / baseline, per repeat: {', '.join(f'x{x:.2f}' for x in ratios)}")
        print(f"BENCH inbound_round.cpu_ratio={statistics.median(ratios):.2f} x")
    best = min(results["this code"])
    print(f"BENCH inbound_round.cpu_per_update={best:.3f} ms (best of {len(results['this code'])})")


if __name__ == "__main__":
    main()
