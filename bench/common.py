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
