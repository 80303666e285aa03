"""Latency of `find`, `show`, `log` and `intro` through the whole handler path, at one or more store sizes.

    .venv/bin/python bench/bench_commands.py [--customers 100000 ...] [--db N=path.db ...] [--n 300]

Targets (issue 16): p99 under 25 ms for find, show and log, under 300 ms for intro, at 1,000,000
customers on this 2-core machine. With several sizes the figures are printed side by side, so the
growth is visible. Queries are drawn from the store itself, in English and Chinese: partial first
names, common surnames that match thousands ("smith", "王"), company names, Chinese full and partial
names, email prefixes, typos, and queries that match nobody. `intro` needs the nightly job's graph
(`crm-bot insights refresh`); a store without it says so instead of a figure.

Every size's run also times `help` (no store work) as the reference for how loaded the machine was,
with the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.common import seeded_sqlite, summary_ms, table  # noqa: E402
import handlers  # noqa: E402,F401  registers every `/crm` command (as bot/app.py does)
from bot.engine import Engine  # noqa: E402
from bot.messages import IncomingMessage  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Company, Customer, InsightBlob, Staff  # noqa: E402

TARGETS = {"find": 25.0, "show": 25.0, "log": 25.0, "intro": 300.0}
_CJK = re.compile(r"[\u3400-\u9fff]")
NO_MATCH = ["zqxjv", "qqqqzzzz", "xylophonequartz", "ничего", "鑫鑫鑫", "zz top 99", "bfgkq wprtz", "smythqqx"]


def _sample_customers(db: Database, n: int, rnd: random.Random, chinese_share: float = 0.3) -> list[tuple]:
    """``n`` live customers (id, name, email, company name), drawn by id without reading every id;
    ``chinese_share`` of them with Chinese names (found through the name index's CJK range)."""
    columns = (Customer.id, Customer.name, Customer.email, Company.name)
    live = Customer.forgotten_at.is_(None)
    with db.session() as s:
        top = s.exec(select(func.max(Customer.id))).one()
        chinese_ids = s.exec(select(Customer.id).where(Customer.name_key >= "\u3400", Customer.name_key < "\ua000",
                                                       live)).all()
        want_zh = rnd.sample(chinese_ids, min(len(chinese_ids), int(n * chinese_share)))
        picked: dict[int, tuple] = {}
        for row in s.exec(select(*columns).join(Company, Company.id == Customer.company_id, isouter=True)
                          .where(Customer.id.in_(want_zh))).all():
            picked[row[0]] = tuple(row)
        while len(picked) < n:
            want = {rnd.randint(1, top) for _ in range(2 * (n - len(picked)))}
            rows = s.exec(select(*columns).join(Company, Company.id == Customer.company_id, isouter=True)
                          .where(Customer.id.in_(want), live)).all()
            for row in rows:
                picked.setdefault(row[0], tuple(row))
        chosen = list(picked.values())[:n]
        rnd.shuffle(chosen)
        return chosen


def find_queries(rows: list[tuple], rnd: random.Random) -> list[tuple[str, str]]:
    """(kind, query): what people type to find a customer."""
    out = []
    for cid, name, email, company in rows:
        zh = bool(_CJK.search(name))
        words = name.split()
        kinds = ["surname", "company", "email", "typo", "nothing"] + (["zh-full", "zh-given"] if zh else ["partial"])
        kind = rnd.choice(kinds)
        if kind == "partial":
            q = words[0][:4]
        elif kind == "surname":
            q = name[0] if zh else words[-1]  # "王", "smith": thousands of customers at 1M
        elif kind == "company":
            q = (company or name).split()[0] if not zh or not company else company[:2]
        elif kind == "email":
            q = (email or name).split("@")[0][:8]
        elif kind == "typo":
            q = name[:-1] + "x" if len(name) > 4 else name + "x"
        elif kind == "zh-full":
            q = name
        elif kind == "zh-given":
            q = name[1:]
        else:
            q = rnd.choice(NO_MATCH)
        out.append((kind, q))
    return out


def write_graph_only(db: Database) -> None:
    """The relation graph `/crm intro` reads, as the nightly job writes it (crm.insights.graph.build_graph
    over the store's snapshot), without the job's communities, centralities and models: for a bench
    store whose nightly job was not run (at 1M it takes tens of minutes here). Marked in the summary."""
    from datetime import datetime, timezone

    from crm.insights import store
    from crm.insights.graph import build_graph
    from crm.insights.snapshot import load_snapshot

    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    with db.engine.connect() as conn:
        graph = build_graph(load_snapshot(conn, now))
    summary = dict(computed_at=now.isoformat(), customers=int(graph.n_customers), nodes=int(graph.n_nodes),
                   edges=int(graph.adjacency.nnz // 2), staff_edges=int(len(graph.staff_edges.strength)),
                   note="graph only (bench_commands.py --graph-only): no communities, centralities or models")
    with db.engine.begin() as conn:
        store.write_blobs(conn, {store.GRAPH: graph.to_bytes(), store.SUMMARY: store.json_blob(summary)}, now)
    print(f"graph only: {graph.n_nodes:,} nodes, {graph.adjacency.nnz // 2:,} edges, "
          f"{len(graph.staff_edges.strength):,} staff edges in {time.perf_counter() - started:.0f} s")


def _has_graph(db: Database) -> bool:
    with db.session() as s:
        return s.exec(select(InsightBlob.key).where(InsightBlob.key == "insights_graph")).first() is not None


def _time(engine: Engine, who: str, line: str, warm: bool = False) -> float:
    started = time.perf_counter()
    reply = engine.handle(IncomingMessage("console", who, line))
    elapsed = time.perf_counter() - started
    assert not (reply.error and "went wrong" in reply.text), (line, reply.text)
    return elapsed


def run(db: Database, n: int, seed: int = 1) -> dict:
    """{"rows": [(command, n, median, p99, target, met)], "kinds": {...}, "load": (before, after)}."""
    engine = Engine(db, Settings(_env_file=None, database_url=db.url))
    rnd = random.Random(seed)
    with db.session() as s:
        admin = s.exec(select(Staff.name).where(Staff.role == "admin")).first()
        reps = s.exec(select(Staff.name).where(Staff.role == "rep")).all()
    rows = _sample_customers(db, n, rnd)
    finds = find_queries(rows, rnd)
    shows, logs = [], []
    for cid, name, email, _company in rows:
        choice = rnd.random()
        shows.append(f"show #{cid}" if choice < 0.5 else f"show {email}" if choice < 0.75 and email
                     else f'show "{name}"')  # a full name: one customer, or the list of namesakes
        zh = bool(_CJK.search(name))
        ref = f"#{cid}" if rnd.random() < 0.7 or not email else email
        logs.append(f"log {ref} 电话 昨天下午4点 讨论续约价格" if zh
                    else f"log {ref} call yesterday 4pm discussed renewal pricing")
    lines = {"find": [f"find {q}" for _k, q in finds], "show": shows, "log": logs}
    load_before = os.getloadavg()[0]
    samples: dict[str, list[float]] = {}
    by_kind: dict[str, list[float]] = {}
    reference = [_time(engine, admin, "help") for _ in range(20)]
    for name, commands in lines.items():
        for warm in commands[:20]:
            _time(engine, admin, warm)
        samples[name] = [_time(engine, admin, line) for line in commands]
    for (kind, _q), took in zip(finds, samples["find"]):
        by_kind.setdefault(kind, []).append(took)
    if _has_graph(db):
        ids = [cid for cid, *_ in rows]
        _time(engine, reps[0], f"intro #{ids[0]}")  # loads the nightly job's graph into this process
        samples["intro"] = [_time(engine, rnd.choice(reps), f"intro #{cid}") for cid in ids]
    reference += [_time(engine, admin, "help") for _ in range(20)]
    load_after = os.getloadavg()[0]
    out_rows = []
    for name, taken in samples.items():
        med, p99 = summary_ms(taken)
        out_rows.append((name, len(taken), f"{med:.2f}", f"{p99:.2f}", f"{TARGETS[name]:.2f}",
                         "yes" if p99 < TARGETS[name] else "NO"))
    if "intro" not in samples:
        out_rows.append(("intro", 0, "-", "-", f"{TARGETS['intro']:.2f}", "no graph: run `crm-bot insights refresh`"))
    ref_med, ref_p99 = summary_ms(reference)
    kinds = {k: summary_ms(v) + (len(v),) for k, v in sorted(by_kind.items())}
    return {"rows": out_rows, "kinds": kinds, "load": (load_before, load_after), "reference": (ref_med, ref_p99)}


def _label(customers: int) -> str:
    return f"{customers // 1_000_000}M" if customers >= 1_000_000 else f"{customers // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--db", action="append", default=[],
                        help="N=path: the store of N customers is this file (else bench/common.py's cache)")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--graph-only", action="store_true",
                        help="a store without the nightly job's graph gets the graph alone first (write_graph_only)")
    args = parser.parse_args()
    paths = dict(item.split("=", 1) for item in args.db)
    results = {}
    for customers in args.customers:
        path = paths.get(str(customers))
        db = Database(f"sqlite:///{path}") if path and Path(path).exists() else seeded_sqlite(customers, path)
        if path:
            db.upgrade()
        if args.graph_only and not _has_graph(db):
            write_graph_only(db)
        result = results[customers] = run(db, args.n)
        before, after = result["load"]
        print(f"\nCommand latency through Engine.handle at {customers:,} customers (SQLite); load average "
              f"{before:.1f} before, {after:.1f} after; reference `help`: median {result['reference'][0]:.2f} ms, "
              f"p99 {result['reference'][1]:.2f} ms")
        print(table(result["rows"], ("command", "n", "median ms", "p99 ms", "target p99", "met")))
        print(table([(f"  find {k}", n, f"{m:.2f}", f"{p:.2f}") for k, (m, p, n) in result["kinds"].items()],
                    ("  find, by query kind", "n", "median ms", "p99 ms")))
        db.dispose()
    if len(results) > 1:
        sizes = list(results)
        header = ["command"] + [f"{_label(c)} p50 / p99 ms" for c in sizes] + ["target p99", f"met at {_label(sizes[-1])}"]
        rows = []
        for i, (name, *_rest) in enumerate(results[sizes[0]]["rows"]):
            cells = []
            for c in sizes:
                row = results[c]["rows"][i]
                cells.append(f"{row[2]} / {row[3]}" if row[1] else "-")
            last = results[sizes[-1]]["rows"][i]
            rows.append((f"/crm {name}", *cells, f"< {TARGETS[name]:.0f}", last[5] if last[1] else "not measured"))
        rows.append(("reference: help", *(f"{results[c]['reference'][0]:.2f} / {results[c]['reference'][1]:.2f}"
                                          for c in sizes), "", ""))
        rows.append(("load average (before-after)", *(f"{results[c]['load'][0]:.1f}-{results[c]['load'][1]:.1f}"
                                                      for c in sizes), "", ""))
        print("\nSide by side (n per command as above; 2 cores shared with other work):")
        print(table(rows, tuple(header)))


if __name__ == "__main__":
    main()
