"""Insights: quality on a fresh planted seed, and speed of the nightly job and commands at 100k.

    .venv/bin/python bench/bench_insights.py [--quality-customers 20000] [--customers 100000]
                                            [--db seeded-100k.db] [--skip-quality] [--skip-speed] [--n 200]

Quality targets (issue 5): held-out ROC AUC >= 0.80, NMI(found, planted communities) >= 0.7,
precision@10 of `/crm next` against planted must-contact customers, planted connectors in the
top 1% by centrality. Speed targets: whole nightly job < 60 s and < 2 GiB at 100k customers;
`/crm intro` < 200 ms, `/crm similar` and `/crm next` < 50 ms. igraph runs the same algorithms
on the same graph as a reference (igraph is C; the ratio says what pure numpy/scipy costs).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.common import seeded_sqlite, summary_ms, table  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def quality(customers: int) -> None:
    from sklearn.metrics import normalized_mutual_info_score, roc_auc_score
    from sqlmodel import select

    from crm import recommend
    from crm.db import Database
    from crm.insights.read import top_recommendations
    from crm.insights.snapshot import load_snapshot, load_texts
    from crm.insights_job import refresh_insights
    from crm.models import CustomerInsight
    from crm.seed import read_seed_truth, seed

    folder = Path(tempfile.mkdtemp(prefix="bench-insights-"))
    db = Database(f"sqlite:///{folder / 'quality.db'}")
    db.upgrade()
    started = time.perf_counter()
    result = seed(db, customers, seed=42, now=NOW)
    print(f"fresh seed: {result.customers:,} customers, {result.clusters} planted clusters, {result.connectors} "
          f"connectors, {result.churned:,} churned, {result.must_contact} must-contact "
          f"({time.perf_counter() - started:.1f} s)")
    truth = read_seed_truth(db)

    # held-out ROC AUC: train on 75% of customers, score the other 25%
    with db.engine.connect() as conn:
        snap = load_snapshot(conn, NOW)
        docs = load_texts(conn, snap.customer_ids)
    feat = recommend.behaviour_features(snap, snap.reference_time())
    vectorizer, texts = recommend.text_matrix(docs)
    labels = (snap.stage == recommend.CHURNED).astype(int)
    train = np.random.default_rng(11).random(snap.n_customers) < 0.75
    risk = recommend.train_risk(feat, texts, vectorizer.get_feature_names_out().tolist(), snap.stage,
                                train_mask=train)
    auc = roc_auc_score(labels[~train], risk.risk[~train])
    heuristic, _ = recommend.heuristic_risk(feat.raw)
    auc_heuristic = roc_auc_score(labels[~train], heuristic[~train])

    print(refresh_insights(db, NOW))
    with db.session() as s:
        rows = s.exec(select(CustomerInsight.customer_id, CustomerInsight.community, CustomerInsight.betweenness,
                             CustomerInsight.pagerank)).all()
        ids = np.array([r[0] for r in rows])
        found = np.array([r[1] for r in rows])
        between = np.array([r[2] for r in rows])
        pagerank = np.array([r[3] for r in rows])
        planted = np.array([truth["community"][int(c)] for c in ids])
        nmi = normalized_mutual_info_score(planted, found)
        precisions = []
        for staff_id, must in truth["must_contact"].items():
            if len(must) < 10:
                continue
            recs = top_recommendations(s, staff_id, 10, now=NOW)
            precisions.append(len({r.customer_id for r in recs} & set(must)) / 10)
    top = max(1, len(ids) // 100)
    connectors = set(truth["connectors"])
    in_top_b = len(connectors & set(ids[np.argsort(-between)[:top]].tolist()))
    in_top_p = len(connectors & set(ids[np.argsort(-pagerank)[:top]].tolist()))
    print()
    print(table([
        ("ROC AUC, held-out 25% (model)", ">= 0.80", f"{auc:.3f}"),
        ("ROC AUC, held-out 25% (fallback heuristic)", "(reference)", f"{auc_heuristic:.3f}"),
        ("NMI found vs planted communities", ">= 0.70", f"{nmi:.3f}"),
        ("precision@10 of /crm next vs must-contact", "(higher is better)",
         f"{np.mean(precisions):.3f} over {len(precisions)} reps"),
        ("planted connectors in top 1% by betweenness", "all", f"{in_top_b}/{len(connectors)}"),
        ("planted connectors in top 1% by PageRank", "(reference)", f"{in_top_p}/{len(connectors)}"),
    ], ("quality", "target", "achieved")))


def job_only(db_path: str) -> None:
    """Run in a fresh process so peak memory is the job's own."""
    from crm.db import Database
    from crm.insights_job import refresh_insights

    db = Database(f"sqlite:///{db_path}")
    started = time.perf_counter()
    summary = refresh_insights(db)
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"summary": summary, "wall": wall, "peak_mb": own, "child_peak_mb": child}))


def speed(customers: int, db_path: str | None, n: int) -> None:
    db = seeded_sqlite(customers, db_path)
    path = db.url.removeprefix("sqlite:///")
    load = os.getloadavg()
    print(f"\nnightly job at {customers:,} customers (load average before: {load[0]:.1f} on {os.cpu_count()} cores)")
    out = subprocess.run([sys.executable, __file__, "--job-only", path], capture_output=True, text=True, check=True)
    job = json.loads(out.stdout.strip().splitlines()[-1])
    print(job["summary"])
    import re

    worker = re.search(r"Graph worker process peak memory: (\d+) MiB", job["summary"])
    worker_mb = float(worker.group(1)) if worker else 0.0
    print(f"whole job: {job['wall']:.1f} s (target < 60 s); peak RSS {job['peak_mb']:.0f} MiB in the job process "
          f"+ {worker_mb:.0f} MiB in its graph worker = {job['peak_mb'] + worker_mb:.0f} MiB together "
          f"(target < 2048 MiB)")
    reference(db)
    latency(db, n)


def reference(db) -> None:
    """Our algorithms and igraph's on the very same graph."""
    import igraph as ig
    from scipy import sparse

    from crm import centrality
    from crm.graph import RelationGraph
    from crm.insights import store
    from crm.insights_job import sources_for

    with db.session() as s:
        graph = store.cached(s, store.GRAPH, RelationGraph.from_bytes)
    a = graph.adjacency
    n = a.shape[0]
    upper = sparse.triu(a).tocoo()
    g = ig.Graph(n=n, edges=np.column_stack([upper.row, upper.col]).tolist(), directed=False)
    weights = upper.data.tolist()
    k = sources_for(n)
    sources = np.random.default_rng(7).choice(n, size=k, replace=False) if k else np.arange(n)

    def timed(fn):
        started = time.perf_counter()
        value = fn()
        return time.perf_counter() - started, value

    rows = []
    ours, _ = timed(lambda: centrality.pagerank(a))
    theirs, _ = timed(lambda: g.pagerank(weights=weights, damping=0.85))
    rows.append(("PageRank (weighted)", ours, theirs))
    ours, _ = timed(lambda: centrality.betweenness(a, sources=sources))
    theirs, _ = timed(lambda: g.betweenness(directed=False, sources=sources.tolist()))
    rows.append((f"betweenness, {len(sources)} sampled sources", ours, theirs))
    ours, found = timed(lambda: centrality.communities(a))
    theirs, multilevel = timed(lambda: g.community_multilevel(weights=weights))
    rows.append(("Louvain / multilevel (weighted)", ours, theirs))
    ours, _ = timed(lambda: centrality.label_propagation(a))
    theirs, _ = timed(lambda: g.community_label_propagation(weights=weights))
    rows.append(("label propagation (weighted)", ours, theirs))
    print(f"\nsame graph ({n:,} nodes, {upper.nnz:,} edges): ours (numpy/scipy) vs igraph (C)")
    print(table([(name, f"{o:.2f} s", f"{t:.2f} s", f"{o / t:.2f}x") for name, o, t in rows],
                ("algorithm", "ours", "igraph", "ratio")))
    print(f"modularity: ours {g.modularity(found.tolist(), weights=weights):.3f}, "
          f"igraph multilevel {multilevel.modularity:.3f}")


def latency(db, n: int) -> None:
    from sqlmodel import select

    from bot.engine import Engine
    from bot.messages import IncomingMessage
    from bot.settings import Settings
    from crm.models import Customer, Staff

    engine = Engine(db, Settings(_env_file=None, database_url=db.url))
    rnd = random.Random(3)
    with db.session() as s:
        reps = s.exec(select(Staff.name).where(Staff.role == "rep")).all()
        top = s.exec(select(Customer.id).order_by(Customer.id.desc()).limit(1)).one()
    samples: dict[str, list[float]] = {}
    cold: dict[str, float] = {}
    for name, make in (("intro", lambda: f"intro #{rnd.randint(1, top)}"),
                       ("similar", lambda: f"similar #{rnd.randint(1, top)}"),
                       ("next", lambda: "next")):
        times = []
        for i in range(n + 1):
            message = IncomingMessage(platform="console", user_id=rnd.choice(reps), text=make())
            started = time.perf_counter()
            reply = engine.handle(message)
            elapsed = time.perf_counter() - started
            assert not reply.text.startswith("Sorry"), reply.plain_text()
            if i == 0:
                cold[name] = elapsed  # loads the cached graph / index into this process
            else:
                times.append(elapsed)
        samples[name] = times
    targets = {"intro": 200, "similar": 50, "next": 50}
    print(f"\ncommand latency through Engine.handle, {n} runs each (after one cold run that loads the cache)")
    print(table([(f"/crm {k}", f"{cold[k] * 1000:.0f}", *(f"{x:.1f}" for x in summary_ms(v)), f"< {targets[k]}")
                 for k, v in samples.items()], ("command", "cold ms", "median ms", "p99 ms", "target ms")))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quality-customers", type=int, default=20_000)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--db")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--job-only")
    args = p.parse_args()
    if args.job_only:
        job_only(args.job_only)
        return
    if not args.skip_quality:
        quality(args.quality_customers)
    if not args.skip_speed:
        speed(args.customers, args.db, args.n)


if __name__ == "__main__":
    main()
