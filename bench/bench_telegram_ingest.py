"""Telegram updates acknowledged and stored per second, through the whole path, against a raw sqlite3 ceiling.

    .venv/bin/python bench/bench_telegram_ingest.py [--n 3000] [--chats 100] [--clients 40] [--baseline REF]

Full path: the real `crm-bot run` in a process of its own (uvicorn, Starlette, the secret check, the
store), its Bot API and Slack Web API stand-ins in another (bench/fakes_process.py), and this process
as Telegram: each chat's updates in order, chats concurrently, no more requests in flight than
``--clients`` (Telegram's webhook max_connections), on plain asyncio streams (bench/webhook_client.py:
aiohttp's client took as much CPU per request as the server path it measured, on the same two cores).
Every chat's first message (which creates its lead and ticket) is sent before the clock starts. Two
rates are measured:

* **acknowledged**: updates answered 200 per second. A 200 means the update is durably stored (in
  ``telegram_inbound`` since issue 17; fully processed, before it);
* **stored**: updates per second until every one of them is an interaction in the store (with its
  ticket, reading and relay row): the processor has to keep up for this one.

Ceiling: a plain ``sqlite3`` loop inserting the same rows into the same ``interaction`` table, one
transaction per row, WAL and synchronous=NORMAL like the app's store.

Before/after in the same run (the machine is shared: figures from different runs do not compare):
``--baseline REF`` (default: the commit before issue 17's inbound queue) runs the same traffic on that
commit's code (git archive into a temporary folder), and everything is printed as ratios to the ceiling
measured in the same run. Zero lost or duplicated is checked for both.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import TEXT, cpu_seconds, telegram_update, wait_until  # noqa: E402
from bench.fakes_process import FakesProcess  # noqa: E402
from bench.webhook_client import post_in_order  # noqa: E402
from bench.load import (WEBHOOK_SECRET, Server, checkout, free_port, prepare_store_with,  # noqa: E402
                        server_env, start_profiler, stop_profiler)
from crm.db import Database  # noqa: E402

BASELINE = "d312f1b"  # main before the inbound queue (issue 17, this round)
FIRST_CHAT = 600_000


def updates_for(chats: int, n: int, start_id: int = 1) -> tuple[dict[int, list[dict]], dict[int, list[dict]]]:
    """(every chat's first message, then ``n`` messages spread over the chats), as Telegram sends them."""
    now = int(datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc).timestamp())
    update_id = start_id
    message_ids: dict[int, int] = {}

    def update(chat: int, body: str) -> dict:
        nonlocal update_id
        update_id += 1
        message_ids[chat] = message_ids.get(chat, 0) + 1
        return telegram_update(update_id, chat, message_ids[chat], now, body, f"Bench{chat - FIRST_CHAT}")

    chat_ids = [FIRST_CHAT + c for c in range(chats)]
    first = {c: [update(c, "hello")] for c in chat_ids}
    rest: dict[int, list[dict]] = {c: [] for c in chat_ids}
    for i in range(n):
        chat = chat_ids[i % chats]
        rest[chat].append(update(chat, TEXT.format(i=i)))
    return first, rest


def post_all(base: str, per_chat: dict[int, list[dict]], clients: int) -> tuple[float, int]:
    """Posts each chat's updates in order, at most ``clients`` in flight (bench/webhook_client.py: plain asyncio
    streams, so the generator takes little of the machine); (seconds, non-200 answers)."""
    port = int(base.rsplit(":", 1)[1])
    bodies = [[json.dumps(update).encode() for update in sequence] for sequence in per_chat.values()]
    return asyncio.run(post_in_order(port, bodies, clients, WEBHOOK_SECRET))


def commit_batches(base: str) -> float | None:
    """Mean units per group commit since the server started (/metrics' crm_group_commit_units), if it has them."""
    try:
        text_ = httpx.get(base + "/metrics", timeout=30).text
    except httpx.HTTPError:
        return None
    values = {}
    for line in text_.splitlines():
        if line.startswith(("crm_group_commit_units_sum ", "crm_group_commit_units_count ")):
            name, value = line.split()
            values[name] = float(value)
    count = values.get("crm_group_commit_units_count")
    return values["crm_group_commit_units_sum"] / count if count else None


def count_interactions(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*), count(DISTINCT source_message_id) FROM interaction "
                                 "WHERE source_platform = 'telegram' AND direction = 'inbound'")).one()


def full_path(folder: Path, n: int, chats: int, clients: int, code: Path | None, profile: Path | None = None) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'app.db'}"
    prepare_store_with(code, url, staff=1, customers=0)
    fakes = FakesProcess()
    env = server_env(url, fakes.slack, fakes.telegram)
    env["BUSINESS_HOURS"], env["BUSINESS_DAYS"] = "00:00-23:59", "mon,tue,wed,thu,fri,sat,sun"
    server = Server(env, free_port(), folder, "server", code)
    db = Database(url)
    first, rest = updates_for(chats, n)
    try:
        server.start()
        post_all(server.base, first, clients)
        wait_until(lambda: count_interactions(db)[0] >= chats, 120)
        profiler = start_profiler(server, profile) if profile else None
        cpu_before = cpu_seconds(server.proc.pid)
        started = time.perf_counter()
        ack_seconds, refused = post_all(server.base, rest, clients)
        wait_until(lambda: count_interactions(db)[0] >= chats + n, 600, interval=0.01)
        stored_seconds = time.perf_counter() - started
        cpu = cpu_seconds(server.proc.pid) - cpu_before
        batches = commit_batches(server.base)
        total, distinct = count_interactions(db)
        if profiler:
            stop_profiler(profiler)
    finally:
        server.stop()
        fakes.stop()
        db.dispose()
    return {"ack": n / ack_seconds, "stored": n / stored_seconds, "ack_s": ack_seconds, "stored_s": stored_seconds,
            "lost": max(0, chats + n - distinct), "duplicated": total - distinct, "refused": refused,
            "cpu_ms": cpu * 1000 / n, "batch": batches}


def raw_ceiling(folder: Path, n: int) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{folder / 'raw.db'}")
    db.upgrade()
    db.dispose()
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO customer (name, name_key, language, tier, stage, tags, marketing_opt_out, "
                 "telegram_blocked, search_text, created_at, updated_at) VALUES ('c', 'c', 'en', 'standard', 'lead', "
                 "'', 0, 0, '', '2026-11-24 10:00:00', '2026-11-24 10:00:00')")
    started = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO interaction (customer_id, kind, direction, channel, text, occurred_at, created_at, "
                     "source_platform, source_message_id) VALUES (1, 'message', 'inbound', 'telegram', ?, "
                     "'2026-11-24 10:00:00', '2026-11-24 10:00:00', 'telegram', ?)",
                     (TEXT.format(i=i), f"600000:{i}"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--clients", type=int, default=40, help="requests in flight (Telegram's max_connections)")
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the 'before' code ('' to skip)")
    parser.add_argument("--baseline-last", action="store_true",
                        help="run this code first and the baseline after it (alternate runs for an ABBA comparison)")
    parser.add_argument("--profile", type=Path, help="py-spy profiles of both servers into this folder "
                                                     "(bench/profile_summary.py reads them)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp:
        folder = Path(tmp)
        code = None
        if args.baseline:
            try:
                code = checkout(args.baseline)
            except Exception as exc:  # a shallow clone may not hold the old commit: the after figures still stand
                print(f"  (baseline {args.baseline} not available here: {exc}; before skipped)")
                args.baseline = ""
        def run_before():
            result = full_path(folder / "before", args.n, args.chats, args.clients, code,
                               args.profile / "before" if args.profile else None) if code else None
            return result, raw_ceiling(folder / "before", args.n)

        def run_after():
            result = full_path(folder / "after", args.n, args.chats, args.clients, None,
                               args.profile / "after" if args.profile else None)
            return result, raw_ceiling(folder / "after", args.n)

        if args.baseline_last:  # alternate the order between runs: the load of a shared machine drifts
            (after, raw_after), (before, raw_before) = run_after(), run_before()
        else:
            (before, raw_before), (after, raw_after) = run_before(), run_after()
    raw = (raw_before + raw_after) / 2  # measured around both runs: the machine's load moves
    print(f"Telegram updates, {args.n:,} from {args.chats} chats, {args.clients} in flight; server, stand-ins and "
          f"this generator in separate processes")
    print(f"  raw sqlite3 insert loop (ceiling): {raw:8,.0f} rows/s  (before {raw_before:,.0f}, after {raw_after:,.0f})")
    for label, r in (("before (" + args.baseline + ")", before), ("after (this code)", after)):
        if r is None:
            continue
        print(f"  {label:<22} acknowledged {r['ack']:7,.0f}/s = x{r['ack'] / raw:.3f} of ceiling;  stored "
              f"{r['stored']:7,.0f}/s = x{r['stored'] / raw:.3f};  lost {r['lost']}, duplicated {r['duplicated']}, "
              f"refused-and-redelivered {r['refused']};  server CPU {r['cpu_ms']:.2f} ms per update"
              + (f", {r['batch']:.1f} updates per group commit" if r.get("batch") else ""))
    if before:
        print(f"  after / before: acknowledged x{after['ack'] / before['ack']:.2f}, stored x{after['stored'] / before['stored']:.2f}")
    print(f"BENCH telegram_ingest.raw_rate={raw:.0f} rows/s")
    print(f"BENCH telegram_ingest.ack_rate={after['ack']:.0f} msg/s")
    print(f"BENCH telegram_ingest.stored_rate={after['stored']:.0f} msg/s")
    print(f"BENCH telegram_ingest.ack_ratio={after['ack'] / raw:.3f} x")
    print(f"BENCH telegram_ingest.stored_ratio={after['stored'] / raw:.3f} x")
    print(f"BENCH telegram_ingest.server_cpu_per_update={after['cpu_ms']:.2f} ms")
    if before:
        print(f"BENCH telegram_ingest.before_ref={args.baseline} ref")
        print(f"BENCH telegram_ingest.before_stored_rate={before['stored']:.0f} msg/s")
        print(f"BENCH telegram_ingest.before_stored_ratio={before['stored'] / raw:.3f} x")
    if after["lost"] or after["duplicated"] or (before and (before["lost"] or before["duplicated"])):
        raise SystemExit("lost or duplicated updates")


if __name__ == "__main__":
    main()
