"""Latency of `find`, `show` and `log` through the whole handler path at 100k customers.

    .venv/bin/python bench/bench_commands.py [--customers 100000] [--db path.db] [--n 300]

Target (issue 2): p99 under 25 ms for each on this 2-core machine.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select  # noqa: E402

from bench.common import seeded_sqlite, summary_ms, table  # noqa: E402
import handlers  # noqa: E402,F401  registers every `/crm` command (as bot/app.py does)
from bot.engine import Engine  # noqa: E402
from bot.messages import IncomingMessage  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.models import Customer, Staff  # noqa: E402


def run(customers: int, db_path: str | None, n: int) -> list[tuple]:
    db = seeded_sqlite(customers, db_path)
    engine = Engine(db, Settings(_env_file=None, database_url=db.url))
    rnd = random.Random(1)
    with db.session() as s:
        admin = s.exec(select(Staff).where(Staff.role == "admin")).first()
        ids = list(s.exec(select(Customer.id).where(Customer.forgotten_at.is_(None))))
        sample = rnd.sample(ids, n)
        rows = s.exec(select(Customer.name, Customer.email).where(Customer.id.in_(sample[:n]))).all()
    queries = []
    for name, email in rows:
        choice = rnd.random()
        if choice < 0.4:
            queries.append(name.split()[0][:4])  # a partial first name
        elif choice < 0.7:
            queries.append(email.split("@")[0][:8])
        else:
            queries.append(name[:-1] + "x" if len(name) > 4 else name)  # a typo
    lines = {
        "find": [f"find {q}" for q in queries],
        "show": [f"show #{cid}" for cid in sample],
        "log": [f"log #{cid} call yesterday 4pm discussed renewal pricing" for cid in sample],
    }
    results = []
    for name, commands in lines.items():
        for warm in commands[:20]:
            engine.handle(IncomingMessage("console", admin.name, warm))
        samples = []
        for line in commands:
            started = time.perf_counter()
            reply = engine.handle(IncomingMessage("console", admin.name, line))
            samples.append(time.perf_counter() - started)
            assert not (reply.error and "went wrong" in reply.text), reply.text
        med, p99 = summary_ms(samples)
        results.append((name, len(samples), f"{med:.2f}", f"{p99:.2f}", "25.00", "yes" if p99 < 25 else "NO"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    rows = run(args.customers, args.db, args.n)
    print(f"\nCommand latency through Engine.handle at {args.customers:,} customers (SQLite)")
    print(table(rows, ("command", "n", "median ms", "p99 ms", "target p99", "met")))


if __name__ == "__main__":
    main()
