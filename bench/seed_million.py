"""Seed a large SQLite store with the vectorised bulk seeder and print the time per stage and the size.

    nice -n 15 .venv/bin/python bench/seed_million.py /work/data/million/crm.db [--customers 1000000] [--ready]
    nice -n 15 .venv/bin/python bench/seed_million.py --reference 50000

``--reference N`` seeds N customers twice in the same run, with the row-building ``crm.seed`` (the
reference) and with the bulk seeder, at the same densities, and prints CPU and wall seconds and the ratio.

``--ready`` writes READY next to the store (commit, counts) for whoever waits to copy it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm.db import Database  # noqa: E402
from crm.seed_bulk import seed_bulk  # noqa: E402


def reference(customers: int) -> None:
    import tempfile

    from crm.seed import seed

    folder = Path(tempfile.mkdtemp(prefix="seed-reference-"))
    rows = []
    for name, fn in (("crm.seed (rows built in Python)", seed), ("crm.seed_bulk (numpy, DBAPI)", seed_bulk)):
        db = Database(f"sqlite:///{folder / (fn.__name__ + '.db')}")
        db.upgrade()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(db, customers, seed=42, relationships_per_customer=5.0)
        rows.append((name, time.perf_counter() - wall, time.process_time() - cpu, result))
        db.dispose()
    for name, wall, cpu, r in rows:
        print(f"{name:34} {wall:7.1f} s wall {cpu:7.1f} s CPU  {r.customers:,} customers, {r.interactions:,} "
              f"interactions, {r.relationships:,} relationships")
    print(f"bulk / reference: ×{rows[0][2] / rows[1][2]:.1f} less CPU, ×{rows[0][1] / rows[1][1]:.1f} less wall "
          f"(load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reference", type=int, help="seed this many customers both ways, same run, and compare")
    p.add_argument("path", nargs="?")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--ready", action="store_true")
    args = p.parse_args()
    if args.reference:
        reference(args.reference)
        return
    target = Path(args.path)
    if target.exists():
        sys.exit(f"{target} exists: seed into a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{target}")
    db.upgrade()
    started = last = time.perf_counter()
    stages: dict[str, float] = {}
    current = ["start"]

    def progress(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        name = stage.split(" ")[0] if stage[0].isalpha() and any(ch.isdigit() for ch in stage) else stage
        stages[current[0]] = stages.get(current[0], 0.0) + now - last
        current[0], last = name, now
        print(f"{now - started:8.1f} s  {stage}", flush=True)

    result = seed_bulk(db, args.customers, seed=args.seed, progress=progress)
    progress("done")
    wall = time.perf_counter() - started
    db.dispose()
    size = sum(f.stat().st_size for f in target.parent.glob(target.name + "*"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    stages.pop("start", None)
    print(f"\nseeded {result.customers:,} customers, {result.companies:,} companies, {result.interactions:,} "
          f"interactions, {result.relationships:,} relationships, {result.deals:,} deals, {result.tasks:,} tasks, "
          f"{result.tickets:,} tickets in {wall:.0f} s (load average {os.getloadavg()[0]:.1f}); "
          f"{size / 2**30:.2f} GiB on disk; peak RSS {peak:.0f} MiB; {cpu:.0f} CPU seconds")
    print("stages: " + ", ".join(f"{k} {v:.0f} s" for k, v in stages.items() if k != "done"))
    if args.ready:
        commit = subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "rev-parse", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        (target.parent / "READY").write_text(json.dumps(dict(
            commit=commit, path=str(target), customers=result.customers, companies=result.companies,
            interactions=result.interactions, relationships=result.relationships, deals=result.deals,
            tasks=result.tasks, tickets=result.tickets, staff=result.staff, seed=args.seed,
            seconds=round(wall), cpu_seconds=round(cpu), bytes=size), indent=1) + "\n")


if __name__ == "__main__":
    main()
