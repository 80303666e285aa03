"""Time to build each manager's daily digest at 100k customers, and to draw its chart.

    .venv/bin/python bench/bench_digest.py [--customers 100000] [--db path.db] [--repeat 3]

Target (issue 6): under 5 s per manager, reading precomputed insights. The store is seeded
once (about 1.5 min at 100k) and reused. When the nightly insight job has never run on it,
the job is run first if this build has it; otherwise ``customer_insight`` is filled with
synthetic scores, so the digest reads a realistically full table either way.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.common import BENCH_DIR, seeded_sqlite, table  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.voice import Voice  # noqa: E402
from crm.models import Customer, CustomerInsight, Staff  # noqa: E402
from handlers.digest.build import build_digest  # noqa: E402
from handlers.digest.chart import render_digest_chart  # noqa: E402
from handlers.digest.data import gather  # noqa: E402


def ensure_insights(db) -> str:
    with db.session() as s:
        if s.exec(select(func.count()).select_from(CustomerInsight)).one():
            return "existing insight rows"
    try:
        from crm.insights.job import refresh_insights
    except ImportError:
        refresh_insights = None
    if refresh_insights is not None:
        started = time.perf_counter()
        refresh_insights(db)
        return f"insight job run ({time.perf_counter() - started:.1f} s)"
    rnd = random.Random(3)
    with db.session() as s:
        ids = s.exec(select(Customer.id)).all()
        stamp = s.exec(select(func.max(Staff.created_at))).one()
    rows = [dict(customer_id=cid, risk=rnd.random(), risk_reasons='[{"kind": "silent", "days": 40}]',
                 community=rnd.randrange(200), pagerank=rnd.random() / len(ids),
                 betweenness=rnd.random() ** 8, computed_at=stamp,
                 **({"priority": rnd.random(), "priority_reasons": '[{"kind": "silent", "days": 40}]'}
                    if hasattr(CustomerInsight, "priority") else {})) for cid in ids]
    with db.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(CustomerInsight.__table__), rows[i:i + 5000])
    return "synthetic insight rows (the insight job is not in this build)"


def run(customers: int, db_path: str | None, repeat: int) -> None:
    db = seeded_sqlite(customers, db_path or str(BENCH_DIR / f"digest-{customers}.db"))
    print(ensure_insights(db))
    settings = Settings(_env_file=None, database_url=db.url)
    with db.session() as s:
        # the seed stamps staff with its "now": digest as of the morning after, so yesterday is busy
        seeded_at = s.exec(select(func.max(Staff.created_at))).one()
        managers = s.exec(select(Staff).where(Staff.role == "manager").order_by(Staff.id)).all()
    charts = Path(tempfile.mkdtemp(prefix="bench-charts-"))
    rows, builds, draws = [], [], []
    for manager in managers:
        voice = Voice(manager, settings, seeded_at)
        samples = []
        for _ in range(repeat):
            with db.session() as s:
                started = time.perf_counter()
                reply = build_digest(s, manager, "manager", voice, chart=False)
                samples.append(time.perf_counter() - started)
        with db.session() as s:
            data = gather(s, manager, "manager", voice)
        started = time.perf_counter()
        path = render_digest_chart(data, charts / f"{manager.id}.png")
        draw = time.perf_counter() - started
        build = statistics.median(samples)
        builds.append(build)
        draws.append(draw)
        rows.append((manager.name, len(data.people), f"{sum(a.total for a in data.activity):,}", data.overdue_total,
                     len(reply.sections), f"{build * 1000:.0f}", f"{draw * 1000:.0f}", f"{path.stat().st_size:,}"))
    print(table(rows, ("manager", "team", "interactions yday", "overdue", "sections", "build ms", "chart ms",
                       "png bytes")))
    total = [b + d for b, d in zip(builds, draws)]
    print(f"\n{len(managers)} managers, {customers:,} customers: digest build median {statistics.median(builds):.2f} s, "
          f"max {max(builds):.2f} s; chart median {statistics.median(draws):.2f} s, max {max(draws):.2f} s; "
          f"build + chart max {max(total):.2f} s (target < 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", help="a seeded SQLite file to reuse (created when missing)")
    parser.add_argument("--repeat", type=int, default=3, help="builds per manager (the median is reported)")
    args = parser.parse_args()
    run(args.customers, args.db, args.repeat)


if __name__ == "__main__":
    main()
