"""The Telegram webhook's acknowledgement path alone: server CPU per update from the request's bytes to the 200.

    .venv/bin/python bench/bench_telegram_ack.py [--n 20000] [--clients 10] [--rounds 3] [--baseline REF]

What it runs: the real `crm-bot run` (uvicorn, the edge, the metrics middleware, the secret check, the parse,
the group commit into ``telegram_inbound``), with one change made by the launcher below: the inbound
processor is not started, so nothing drains the queue and the server's CPU is the ack path's (plus its idle
background: the scheduler's and relay's polls, the WAL checkpoint thread, measured for a second before the
traffic and subtracted); every update must still be unprocessed after the run (a variant whose processor
ran would count its CPU too). The same launcher runs ``--baseline REF``'s code (default: a pinned commit,
main before issue 17's work; git archive into a temporary folder) in the same run; rounds alternate
baseline and this code (ABBA), each on a fresh store.

This process is Telegram (bench/webhook_client.py): each chat's updates in order, ``--clients`` keep-alive
connections (Telegram's webhook max_connections), Telegram's own headers, over plain asyncio streams (a cheap
client, so the generator takes little of the machine's two cores). A refused update is posted again, as
Telegram does. Every update must be in ``telegram_inbound`` exactly once.

Printed per variant: the median over rounds of server CPU ms per update (user + system from /proc, all
threads, so SQLite's C time is in it), acknowledgements per second, and this code's CPU as a ratio to the
baseline's measured in the same round.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import cpu_seconds, cpu_times, round_robin_updates, unprocessed, wait_until  # noqa: E402
from bench.fakes_process import FakesProcess  # noqa: E402
from bench.webhook_client import post_in_order  # noqa: E402
from bench.load import (WEBHOOK_SECRET, Server, checkout, free_port, prepare_store_with,  # noqa: E402
                        server_env, start_profiler, stop_profiler)
from crm.db import Database  # noqa: E402

# `crm-bot run` with the inbound processor not started (the queue is not drained: only the ack path runs)
LAUNCHER = ("import sys\n"
            "from integrations.telegram.inbound import InboundProcessor\n"
            "InboundProcessor.start = lambda self: None\n"
            "from bot.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
WHOLE = "import sys\nfrom bot.cli import main\nsys.exit(main(sys.argv[1:]))\n"  # --drain: the processor runs
FIRST_CHAT = 700_000
BASELINE = "1bdeb89"  # main before this session's issue-17 work (not "main": once merged, that is this code)


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of a process, by thread name (pool threads summed under their prefix)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "event loop" if task.name == str(pid) else name.rstrip("0123456789_").rstrip("-_") or name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def ack_buckets(metrics: str) -> dict[float, float]:
    """crm_ack_duration_seconds' cumulative bucket counts for Telegram, by upper bound."""
    out = {}
    for line in metrics.splitlines():
        if line.startswith('crm_ack_duration_seconds_bucket{le="') and 'platform="telegram"' in line:
            out[float(line.split('le="')[1].split('"')[0])] = float(line.split()[-1])
    return out


def per_chat(payloads: list[bytes], chats: int = 100) -> list[list[bytes]]:
    """``bodies``' updates by chat (they go round the chats), each chat's in order."""
    return [payloads[c::chats] for c in range(chats)]


def bodies(n: int, chats: int, start_id: int) -> list[bytes]:
    return [json.dumps(update, ensure_ascii=False).encode() for update in
            round_robin_updates(n, chats, first_chat=FIRST_CHAT, start_id=start_id, date=1_795_000_000)]


def left_unprocessed(url: str) -> int:
    db = Database(url)
    try:
        return unprocessed(db)
    finally:
        db.dispose()


def stored(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return tuple(conn.execute(text("SELECT count(*), count(DISTINCT update_id) FROM telegram_inbound")).one())
    finally:
        db.dispose()


def one_run(folder: Path, code: Path | None, name: str, n: int, clients: int, fakes, profile: Path | None,
            gil: bool = True, drain: bool = False) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'app.db'}"
    prepare_store_with(code, url, staff=1, customers=0)
    env = server_env(url, fakes.slack, fakes.telegram)
    server = Server(env, free_port(), folder, name, code, launcher=WHOLE if drain else LAUNCHER)
    warm = bodies(1000, 100, 1)
    payloads = bodies(n, 100, 10_000_000)
    try:
        server.start()
        # warm: connections, caches, the first batches, and (--drain) every chat's first message, its lead and ticket
        asyncio.run(post_in_order(server.port, per_chat(warm), clients, WEBHOOK_SECRET))
        if drain:
            wait_until(lambda: left_unprocessed(url) == 0, 300, interval=0.05)
            time.sleep(0.5)  # the relay's posts of the warm-up
        idle_before = cpu_seconds(server.proc.pid)
        time.sleep(1.0)
        idle = cpu_seconds(server.proc.pid) - idle_before  # background per second (scheduler, polls, WAL thread)
        profiler = start_profiler(server, profile, gil=gil) if profile else None
        warm_acks = ack_buckets(httpx.get(server.base + "/metrics", timeout=30).text)
        threads_before = thread_cpu(server.proc.pid)
        user_before, system_before = cpu_times(server.proc.pid)
        started = time.perf_counter()
        seconds, refused = asyncio.run(post_in_order(server.port, per_chat(payloads), clients, WEBHOOK_SECRET))
        if drain:  # until every update is processed: the processor's CPU is part of it
            wait_until(lambda: left_unprocessed(url) == 0, 600, interval=0.01)
            seconds = time.perf_counter() - started
        user, system = (a - b for a, b in zip(cpu_times(server.proc.pid), (user_before, system_before)))
        threads = {k: v - threads_before.get(k, 0.0) for k, v in thread_cpu(server.proc.pid).items()}
        cpu = user + system
        if profiler:
            stop_profiler(profiler)
        metrics = httpx.get(server.base + "/metrics", timeout=30).text
    finally:
        server.stop()
    total, distinct = stored(url)
    expected = len(warm) + n
    if total != expected or distinct != expected:
        raise SystemExit(f"{name}: {total} rows, {distinct} distinct update ids; expected {expected}")
    if not drain and (left := left_unprocessed(url)) != expected:  # the processor stayed off: the CPU is the ack path's
        raise SystemExit(f"{name}: {expected - left} of {expected} updates were processed; the processor ran")
    if 'route="/telegram/webhook"' not in metrics:
        raise SystemExit(f"{name}: /metrics lost the webhook's request series")
    batch = dict(line.split()[:2] for line in metrics.splitlines()
                 if line.startswith(("crm_group_commit_units_sum ", "crm_group_commit_units_count ")))
    count = float(batch.get("crm_group_commit_units_count", 0))
    # the ack histogram's buckets over the measured updates (read before and after): median and p99 from them
    acks = {le: n - warm_acks.get(le, 0.0) for le, n in ack_buckets(metrics).items()}
    total = acks.get(float("inf"), 0.0)
    quantile = lambda q: next((le for le, n in sorted(acks.items()) if n >= q * total), float("inf"))  # noqa: E731
    return {"ack_p50": quantile(0.5), "ack_p99": quantile(0.99), "batch": float(batch["crm_group_commit_units_sum"]) / count if count else 0.0,
            "cpu_ms": max(0.0, cpu - idle * seconds) * 1000 / n, "raw_cpu_ms": cpu * 1000 / n,
            "rate": n / seconds, "refused": refused, "idle": idle,
            "threads": {k: v * 1000 / n for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v > 0}, "system_share": system / cpu if cpu else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=10, help="connections in flight (Telegram's max_connections)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the reference code ('' to skip)")
    parser.add_argument("--profile", type=Path, help="py-spy (--gil) profiles of each run into this folder")
    parser.add_argument("--drain", action="store_true", help="the whole path: the processor runs, and the CPU is "
                        "counted until every update is processed (stored as an interaction, read, relayed)")
    parser.add_argument("--all-threads", action="store_true", help="profile every busy thread, not only the "
                        "GIL holder (SQLite's C time shows under the Python call that runs it)")
    args = parser.parse_args()
    variants: list[tuple[str, Path | None]] = [("this code", None)]
    if args.baseline:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline], capture_output=True,
                                text=True, check=True).stdout.strip()
        variants.insert(0, (f"baseline {commit}", checkout(commit)))
    results: dict[str, list[dict]] = {label: [] for label, _ in variants}
    fakes = FakesProcess()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-telegram-ack-") as tmp:
            for r in range(args.rounds):
                order = variants if r % 2 == 0 else list(reversed(variants))
                for label, code in order:
                    name = f"{'base' if code else 'this'}-{r}"
                    result = one_run(Path(tmp) / name, code, name, args.n, args.clients, fakes,
                                     args.profile / name if args.profile else None, gil=not args.all_threads,
                                     drain=args.drain)
                    results[label].append(result)
                    print(f"  round {r + 1} {label:<18} {result['cpu_ms']:.3f} ms CPU per update "
                          f"(raw {result['raw_cpu_ms']:.3f}, {result['system_share']:.0%} in the kernel, "
                          f"idle {result['idle'] * 1000:.0f} ms/s), "
                          f"{result['rate']:7,.0f} {'stored' if args.drain else 'acks'}/s, {result['batch']:.1f} per commit, ack ≤ {result['ack_p50'] * 1000:g} ms (p50) "
                          f"≤ {result['ack_p99'] * 1000:g} ms (p99), refused {result['refused']}\n"
                          f"      by thread (ms per update): "
                          + ", ".join(f"{k} {v:.3f}" for k, v in result["threads"].items()), flush=True)
    finally:
        fakes.stop()
    print(f"Telegram webhook {'whole path (processor draining)' if args.drain else 'ack path'}, {args.n:,} updates "
          f"per run, {args.clients} connections{'' if args.drain else ', processor not draining'}; medians of "
          f"{args.rounds} rounds")
    for label, runs in results.items():
        print(f"  {label:<18} {statistics.median(r['cpu_ms'] for r in runs):.3f} ms CPU per update, "
              f"{statistics.median(r['rate'] for r in runs):7,.0f} {'stored' if args.drain else 'acks'}/s")
    if len(variants) == 2:
        base, this = (results[label] for label, _ in variants)
        ratios = [t["cpu_ms"] / b["cpu_ms"] for b, t in zip(base, this)]
        rates = [t["rate"] / b["rate"] for b, t in zip(base, this)]
        print(f"  this / baseline, per round: CPU per update {', '.join(f'x{x:.2f}' for x in ratios)}; "
              f"acks/s {', '.join(f'x{x:.2f}' for x in rates)}")
        print(f"BENCH telegram_ack.cpu_ratio={statistics.median(ratios):.2f} x")
    print(f"BENCH telegram_ack.cpu_per_update={statistics.median(r['cpu_ms'] for r in results['this code']):.3f} ms")


if __name__ == "__main__":
    main()
