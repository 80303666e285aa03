"""Shared helpers for benchmarks: a seeded store reused across runs, timing, printing."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

BENCH_DIR = Path(os.environ.get("CRM_BENCH_DIR", Path(__file__).with_name("results")))


# the 1M store has ~5,000,000 relationships (5 per customer); smaller stores keep the seeder's 3
MILLION = 1_000_000
RELATIONSHIPS_AT_MILLION = 5.0


def seeded_sqlite(customers: int, path: str | None = None, seed: int = 42):
    """A migrated SQLite store with ``customers`` seeded customers, built once and reused
    (under ``CRM_BENCH_DIR``, default bench/results)."""
    from crm.db import Database
    from crm.seed import seed as seed_store

    per = RELATIONSHIPS_AT_MILLION if customers >= MILLION else 3.0
    suffix = "" if per == 3.0 else f"-r{per:g}"
    target = Path(path) if path else BENCH_DIR / f"seed-{customers}-{seed}{suffix}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = not target.exists()
    db = Database(f"sqlite:///{target}")
    db.upgrade()
    if fresh:
        started = time.perf_counter()
        result = seed_store(db, customers, seed=seed, relationships_per_customer=per,
                            progress=lambda stage: print(f"  seeding: {stage} at {time.perf_counter() - started:.0f} s",
                                                         flush=True))
        print(f"seeded {result.customers:,} customers, {result.interactions:,} interactions, "
              f"{result.relationships:,} relationships in {time.perf_counter() - started:.1f} s -> {target}")
    return db


def wait_until(done, timeout: float, interval: float = 0.05) -> bool:
    """Polls ``done()`` until it is true (True) or ``timeout`` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, percentile(samples, 99) * 1000


def table(rows: list[tuple], headers: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(headers), line(tuple("-" * w for w in widths))] + [line(r) for r in rows])


# ---- server processes: CPU from /proc (Linux) ----------------------------------------------------

def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far, all its threads (SQLite's C work too), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``cpu_times`` summed)."""
    return sum(cpu_times(pid))


# ---- Telegram updates as the webhook benches send and store them ---------------------------------

TEXT = "message {i}: when does my order ship? 订单什么时候发货？"  # a plain message, English and Chinese


def telegram_update(update_id: int, chat: int, message_id: int, date: int, text: str, name: str) -> dict:
    """A private chat's text message, as Telegram's webhook sends it."""
    person = {"id": chat, "is_bot": False, "first_name": name, "language_code": "en"}
    return {"update_id": update_id, "message": {"message_id": message_id, "date": date, "from": person,
                                                "chat": {"id": chat, "type": "private", "first_name": name},
                                                "text": text}}


def round_robin_updates(n: int, chats: int, *, first_chat: int, start_id: int, date: int,
                        message_offset: int = 0) -> list[dict]:
    """``n`` updates (``TEXT``) going round ``chats`` chats from ``first_chat``: update ``start_id + i`` is
    message ``message_offset + start_id + i`` of chat ``first_chat + i % chats``."""
    return [telegram_update(start_id + i, first_chat + i % chats, message_offset + start_id + i, date,
                            TEXT.format(i=i), f"Bench{i % chats}") for i in range(n)]


def unprocessed(db) -> int:
    """Updates in ``telegram_inbound`` not processed yet (``db``: a crm.db.Database)."""
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM telegram_inbound WHERE processed_at IS NULL")).scalar_one()
