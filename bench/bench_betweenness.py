"""Connector betweenness: which estimator the nightly job uses, chosen by this side-by-side run.

    .venv/bin/python bench/bench_betweenness.py [--customers 10000 20000 100000] [--err 0.0015 0.002]
                                               [--exact-up-to 30000] [--networkit-exact-up-to 15000]
                                               [--million-proxy]

On the seeded store of each size (built once under the bench folder, reused), it times exact Brandes
(igraph, and networkit's parallel exact on 2 threads) and networkit's KADABRA top-20 at each error,
and prints, for each, the seconds, its ratio to igraph's exact time (when that was run) and how many
of its top 20 match the exact top 20 and the top 20 of a second seed. The issue's targets: >= 18 of
the exact top 20 at 20,000 customers, two seeds agreeing on >= 18 of 20 at 100,000 and above.

Measured 2026-11-30 on the shared 2-core machine (load 3-6): exact igraph 10-16 s at 10k (networkit
exact 53 s); KADABRA err 0.001 ~500 s at 100k, 0.0015 23-65 s (seeds share 19/20), 0.002 10-18 s
(18/20), 0.005 4 s (15/20). At 10k, err 0.002-0.01 took 0.2-3 s with 18-20 of the exact top 20.
At 20k (load 4.6): igraph exact 51.4 s; KADABRA err 0.0015 and 0.002 13.2 s each, 20/20 with exact and
across seeds. Whole nightly job (bench_insights.py --job-only, same stores, one after the other, load
~3.8): 10k 11.8 s with exact (betweenness 9.7 s) -> 7.2 s with KADABRA 0.0015 (betweenness 6.0 s);
100k 55.4 s (betweenness 47.6 s, in the graph worker) where err 0.001 had taken 555.8 s this morning.
1M proxy (10 copies of the 100k graph, 2% of edges rewired across copies: 1.25M nodes, 4.0M edges):
one KADABRA run at err 0.0015 did not finish in 7.5 min, one at err 0.003 not in 4 min (both killed)
-- the 1M budget is not met by KADABRA as called here.

``--million [N]`` runs each option on the 1M graph in its own process under ``--limit`` seconds, two seeds
each, and prints seconds and the two seeds' top-20 overlap (the seeded store's graph when its seed
finished, else the seeder-shaped synthetic graph of crm/seed_graph.py, 5 relationships per
customer: 1.25M nodes, 5.9M edges). Measured 2026-11-30 afternoon, load 9-20 (seven other developers):
KADABRA's first step, the exact vertex diameter (networkit's Diameter, estimated range with error 0,
which KADABRA runs whatever its error), took 21.9 s at 100k and was still running after 11 min at 1M;
on the 2-core at 100k it took 60.7 s against 23.9 s on the largest component (peeling pendants
removed 3% of the nodes). networkit's EstimateBetweenness (sampled sources, 2 threads): 500 sources
632 s at 100k, 32 sources 656 s at 1M (~20 s per source). The probe itself (16:00-16:23, limit 360 s,
load 10-15): diameter and KADABRA err 0.005 did not finish; EstimateBetweenness 16 sources 183 s / 85 s
(5-11 s per source), two seeds 0/20; networkx's betweenness_centrality(k=2) 45-72 s per source (its
graph built in 22-38 s), 0/20 -- networkx per source 4-13x networkit's. No option met two seeds
>= 18/20 within the nightly budget at 1M, so the job computed no connectors above 300,000 linked nodes.

``paths`` is ours (crm/insights/path_sampling.py: KADABRA's sampling with the exact diameter replaced by a
bound from one BFS per component), in ``compare`` and as a ``--million`` option (``paths`` or ``paths:<edges
budget>``); ``--shape ba`` runs the probe on a heavy-tailed Barabasi-Albert graph of that many nodes instead
of the seeder's shape. Figures: crm/insights/centrality.py's docstring and README's benchmark table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.common import seeded_sqlite, table  # noqa: E402


def store_graph(customers: int):
    from crm.insights.graph import build_graph, staff_strengths
    from crm.insights.job import node_keys
    from crm.insights.snapshot import load_snapshot

    db = seeded_sqlite(customers)
    with db.engine.connect() as conn:
        snap = load_snapshot(conn, datetime.now(timezone.utc))
    graph = build_graph(snap, staff_strengths(snap))
    return graph.adjacency.tocsr(), node_keys(graph)


def top20(values: np.ndarray) -> set[int]:
    return set(np.argsort(-values, kind="stable")[:20].tolist())


def compare(customers: int, errs: list[float], exact_up_to: int, nk_exact_up_to: int) -> None:
    import networkit as nk
    from scipy import sparse

    from crm.insights import centrality

    a, keys = store_graph(customers)
    n, edges = a.shape[0], a.nnz // 2
    linked = int((np.diff(a.indptr) > 0).sum())
    print(f"\n{customers:,} customers: {n:,} nodes ({linked:,} linked), {edges:,} edges; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; the job uses "
          f"{'exact' if centrality.sources_for(linked, edges) is None else 'KADABRA'} "
          f"(err {centrality.KADABRA_ERR})")
    rows, exact, t_exact = [], None, None
    if customers <= exact_up_to:
        started = time.perf_counter()
        exact = centrality.betweenness(a)
        t_exact = time.perf_counter() - started
        rows.append(("igraph exact (Brandes)", t_exact, "20/20", "—"))
    if customers <= nk_exact_up_to:
        upper = sparse.triu(a, k=1).tocoo()
        g = nk.Graph(n, weighted=False, directed=False)
        g.addEdges((upper.row.astype(np.uint64), upper.col.astype(np.uint64)))
        nk.setNumberOfThreads(2)
        started = time.perf_counter()
        algo = nk.centrality.Betweenness(g, normalized=True)
        algo.run()
        scores = np.asarray(algo.scores())
        rows.append(("networkit exact, 2 threads", time.perf_counter() - started,
                     f"{len(top20(scores) & top20(exact))}/20" if exact is not None else "—", "—"))
    runs = []
    for seed in (1, 2):
        started, cpu = time.perf_counter(), time.process_time()
        values, found = centrality.sampled_betweenness(a, keys, seed=seed)
        runs.append((values, time.perf_counter() - started, time.process_time() - cpu, found))
    (first, took, cpu, found), (second, _, _, _) = runs
    rows.append((f"sampled paths (ours), {found.samples:,} paths, ±{100 * found.achieved_rel_err:.0f}% "
                 f"({found.reason}; CPU {cpu:.0f} s)", took,
                 f"{len(top20(first) & top20(exact))}/20" if exact is not None else "—",
                 f"{len(top20(first) & top20(second))}/20"))
    for err in errs:
        started = time.perf_counter()
        first = centrality.kadabra_betweenness(a, keys, seed=1, err=err)
        took = time.perf_counter() - started
        second = centrality.kadabra_betweenness(a, keys, seed=2, err=err)
        rows.append((f"networkit KADABRA top-20, err {err}", took,
                     f"{len(top20(first) & top20(exact))}/20" if exact is not None else "—",
                     f"{len(top20(first) & top20(second))}/20"))
    print(table([(name, f"{t:.1f} s", "—" if t_exact is None else f"×{t / t_exact:.2f}", vs_exact, seeds)
                 for name, t, vs_exact, seeds in rows],
                ("betweenness", "seconds", "/ igraph exact", "top 20 vs exact", "top 20, two seeds")))


def million_proxy(copies: int = 10, rewired: float = 0.02, timeout_note: str = "") -> None:
    """A bounded 1M probe without seeding 1M customers: ``copies`` of the seeded 100k graph with a share
    of edges rewired across copies (one connected world, same local structure), KADABRA two seeds."""
    from scipy import sparse

    from crm.insights import centrality

    a, keys = store_graph(100_000)
    n = a.shape[0]
    upper = sparse.triu(a, k=1).tocoo()
    rows = np.concatenate([upper.row + c * n for c in range(copies)])
    cols = np.concatenate([upper.col + c * n for c in range(copies)])
    cross = np.random.default_rng(5).random(len(cols)) < rewired
    cols[cross] = (cols[cross] + np.random.default_rng(6).integers(1, copies, cross.sum()) * n) % (copies * n)
    total = copies * n
    big = sparse.csr_matrix((np.ones(2 * len(rows)), (np.r_[rows, cols], np.r_[cols, rows])), shape=(total, total))
    big.data[:] = 1.0
    big_keys = np.concatenate([keys + c * (int(keys.max()) + 2) for c in range(copies)])
    print(f"\n1M proxy: {total:,} nodes, {big.nnz // 2:,} edges, KADABRA err {centrality.KADABRA_ERR}", flush=True)
    tops = []
    for seed in (1, 2):
        started = time.perf_counter()
        scores = centrality.kadabra_betweenness(big, big_keys, seed=seed)
        print(f"  seed {seed}: {time.perf_counter() - started:.1f} s", flush=True)
        tops.append(top20(scores))
    print(f"  two seeds share {len(tops[0] & tops[1])}/20")


# ---- the 1M probe: every option in its own process, under a time limit --------------------------------

def probe_graph(customers: int, relationships_per_customer: float, shape: str = "seeder") -> tuple[Path, str]:
    """The graph the probe runs on, saved once as .npz: the seeded store's when it is complete (its seed
    truth is the seeder's last write), else the seeder-shaped synthetic graph (crm/seed_graph.py)."""
    from scipy import sparse

    from bench.common import BENCH_DIR, MILLION, RELATIONSHIPS_AT_MILLION

    per = RELATIONSHIPS_AT_MILLION if customers >= MILLION else 3.0
    store = BENCH_DIR / f"seed-{customers}-42{'' if per == 3.0 else f'-r{per:g}'}.db"
    complete = False
    if store.exists():
        import sqlite3

        with sqlite3.connect(store) as conn:
            try:
                complete = conn.execute("SELECT 1 FROM insight_blob WHERE key = 'seed_truth'").fetchone() is not None
            except sqlite3.Error:
                complete = False
    if shape != "seeder":
        complete = False
    source = "store" if complete else ("synthetic" if shape == "seeder" else shape)
    # the seeder's connectors became heavy-tailed (crm.seed.connector_links): "-zipf" keeps older probe files apart
    target = BENCH_DIR / f"probe-{customers}-{source}{'-zipf' if source == 'synthetic' else ''}.npz"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if complete:
            a, keys = store_graph(customers)
            a = a.copy()
            a.data[:] = 1.0
        elif shape == "seeder":
            from crm.seed_graph import seeder_shaped_graph

            a, keys = seeder_shaped_graph(customers, relationships_per_customer)
        else:
            a, keys = real_like_graph(customers, shape)
        sparse.save_npz(target.with_suffix(".adj.npz"), a)
        np.save(target.with_suffix(".keys.npy"), keys)
        target.touch()
    label = f"seeded store {store.name}" if complete else (
        f"seeder-shaped synthetic graph ({relationships_per_customer:g} relationships per customer; "
        f"{store.name} {'incomplete' if store.exists() else 'absent'})") if shape == "seeder" else REAL_LIKE[shape]
    return target, label


REAL_LIKE = {
    "ba": "Barabási-Albert graph (igraph, 3 links per new node; heavy-tailed degrees like social graphs)",
}


def real_like_graph(nodes: int, shape: str, seed: int = 42):
    """Heavy-tailed graphs standing in for real social/collaboration graphs of 300k-1M nodes (no internet
    here for SNAP's files): nodes shuffled, keys = positions."""
    import random

    import igraph as ig
    from scipy import sparse

    from crm.insights.centrality import seeded

    with seeded(seed):
        if shape == "ba":
            g = ig.Graph.Barabasi(nodes, 3, directed=False)
        else:
            raise SystemExit(f"unknown graph shape {shape}")
    g.simplify()
    e = np.asarray(g.get_edgelist(), dtype=np.int64)
    perm = np.random.default_rng(random.Random(seed).randrange(2 ** 32)).permutation(nodes)
    r, c = perm[e[:, 0]], perm[e[:, 1]]
    a = sparse.csr_matrix((np.ones(2 * len(r)), (np.r_[r, c], np.r_[c, r])), shape=(nodes, nodes))
    a.data[:] = 1.0
    return a, np.arange(nodes, dtype=np.int64)


def probe_child(path: str, option: str, seed: int) -> None:
    """One option on the saved graph; prints one JSON line (seconds, top 20 node positions, a note)."""
    import json

    import networkit as nk
    from scipy import sparse

    from crm.insights import centrality

    base = Path(path)
    a = sparse.load_npz(base.with_suffix(".adj.npz")).tocsr()
    keys = np.load(base.with_suffix(".keys.npy"))
    name, _, arg = option.partition(":")
    nk.setNumberOfThreads(2)
    note, top = "", []

    def nk_graph(mask=None):
        linked = np.flatnonzero(np.diff(a.indptr) > 0) if mask is None else np.flatnonzero(mask)
        order = linked[np.argsort(centrality.stable_hash(keys[linked]), kind="stable")]
        index = np.full(a.shape[0], -1, dtype=np.int64)
        index[order] = np.arange(len(order))
        upper = sparse.triu(a, k=1).tocoo()
        inside = (index[upper.row] >= 0) & (index[upper.col] >= 0)
        g = nk.Graph(len(order), weighted=False, directed=False)
        g.addEdges((index[upper.row[inside]].astype(np.uint64), index[upper.col[inside]].astype(np.uint64)))
        return g, order

    started = time.perf_counter()
    if name in ("diameter", "diameter-2core"):
        mask = None
        if name == "diameter-2core":  # peel degree-1 nodes until none are left
            mask = np.diff(a.indptr) > 0
            while True:
                degree = np.asarray(a @ mask.astype(np.float64)).ravel()
                leaves = mask & (degree <= 1)
                if not leaves.any():
                    break
                mask &= ~leaves
        g, order = nk_graph(mask)
        started = time.perf_counter()
        # what KADABRA runs first, before any sampling: the vertex diameter, estimated range with error 0
        d = nk.distance.Diameter(g, nk.distance.DiameterAlgo.EstimatedRange, error=0.0)
        d.run()
        note = f"vertex diameter {d.getDiameter()} on {len(order):,} nodes"
    elif name == "kadabra":
        scores = centrality.kadabra_betweenness(a, keys, seed=seed, err=float(arg))
        top = np.argsort(-scores, kind="stable")[:20].tolist()
    elif name == "paths":  # ours: sampled shortest paths, bounded vertex diameter (crm/insights/path_sampling.py)
        cpu = time.process_time()
        scores, found = centrality.sampled_betweenness(a, keys, seed=seed, work=float(arg) if arg else None)
        top = np.argsort(-scores, kind="stable")[:20].tolist()
        import resource

        note = (f"{found.samples:,} paths, {found.edges_scanned / found.samples:,.0f} edges each, top 20 within "
                f"±{100 * found.achieved_rel_err:.0f}% ({found.reason}); vertex diameter <= {found.vertex_diameter_bound}; "
                f"CPU {time.process_time() - cpu:.0f} s; peak RSS "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    elif name == "estimate":
        g, order = nk_graph()
        nk.engineering.setSeed(seed, True)
        started = time.perf_counter()
        algo = nk.centrality.EstimateBetweenness(g, int(arg), True, True)
        algo.run()
        top = order[np.argsort(-np.asarray(algo.scores()), kind="stable")[:20]].tolist()
        note = f"{(time.perf_counter() - started) / int(arg):.2f} s per source"
    elif name == "networkx":
        import networkx as nx

        upper = sparse.triu(a, k=1).tocoo()
        g = nx.Graph()
        g.add_nodes_from(range(a.shape[0]))
        g.add_edges_from(zip(upper.row.tolist(), upper.col.tolist()))
        built = time.perf_counter() - started
        started = time.perf_counter()
        scores = nx.betweenness_centrality(g, k=int(arg), seed=seed)
        top = sorted(scores, key=scores.get, reverse=True)[:20]
        note = f"{(time.perf_counter() - started) / int(arg):.2f} s per source (graph built in {built:.0f} s)"
    else:
        raise SystemExit(f"unknown option {option}")
    print(json.dumps(dict(seconds=time.perf_counter() - started, top=[int(x) for x in top], note=note)))


def million(customers: int, limit: float, options: list[str], relationships_per_customer: float,
            shape: str = "seeder") -> None:
    import json
    import subprocess

    path, label = probe_graph(customers, relationships_per_customer, shape)
    from scipy import sparse

    a = sparse.load_npz(path.with_suffix(".adj.npz"))
    print(f"\n{customers:,}-customer probe on the {label}: {a.shape[0]:,} nodes, {a.nnz // 2:,} edges; "
          f"each option in its own process, at most {limit:.0f} s per run; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    del a
    rows = []
    for option in options:
        runs = []
        for seed in ((1,) if option.startswith("diameter") else (1, 2)):
            started = time.perf_counter()
            try:
                out = subprocess.run([sys.executable, __file__, "--probe-child", str(path), option, str(seed)],
                                     capture_output=True, text=True, timeout=limit, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            except subprocess.TimeoutExpired:
                runs.append(dict(seconds=None, top=[], note=f"did not finish in {limit:.0f} s "
                                                            f"(load {os.getloadavg()[0]:.1f})"))
                break
            except subprocess.CalledProcessError as failed:
                runs.append(dict(seconds=None, top=[], note="failed: " + (failed.stderr or "").strip()[-200:]))
                break
            print(f"  {option} seed {seed}: {time.perf_counter() - started:.1f} s", flush=True)
        seconds = " / ".join("—" if r["seconds"] is None else f"{r['seconds']:.1f} s" for r in runs)
        agree = f"{len(set(runs[0]['top']) & set(runs[1]['top']))}/20" if len(runs) == 2 and runs[1]["top"] else "—"
        rows.append((option, seconds, agree, "; ".join(r["note"] for r in runs if r["note"])))
    print(table(rows, ("option", "seconds (seed 1 / 2)", "top 20, two seeds", "note")))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--customers", type=int, nargs="*", default=[10_000, 20_000, 100_000])
    p.add_argument("--err", type=float, nargs="*", default=[0.0015, 0.002])
    p.add_argument("--exact-up-to", type=int, default=30_000)
    p.add_argument("--networkit-exact-up-to", type=int, default=15_000)
    p.add_argument("--million-proxy", action="store_true", help="also the bounded 1M proxy (minutes)")
    p.add_argument("--million", type=int, nargs="?", const=1_000_000, default=None,
                   help="the 1M probe (store graph when seeded, else synthetic): options side by side, time-limited")
    p.add_argument("--limit", type=float, default=600.0, help="seconds per run in the 1M probe")
    p.add_argument("--options", nargs="*", default=["diameter", "diameter-2core", "kadabra:0.0015", "kadabra:0.005",
                                                    "estimate:64", "networkx:4"])
    p.add_argument("--relationships-per-customer", type=float, default=5.0)
    p.add_argument("--shape", default="seeder", choices=["seeder", *REAL_LIKE],
                   help="the --million graph: the seeder's shape, or a heavy-tailed real-like graph of that many nodes")
    p.add_argument("--probe-child", nargs=3, metavar=("GRAPH", "OPTION", "SEED"))
    args = p.parse_args()
    if args.probe_child:
        probe_child(args.probe_child[0], args.probe_child[1], int(args.probe_child[2]))
        return
    if args.million:
        million(args.million, args.limit, args.options, args.relationships_per_customer, args.shape)
        return
    if args.million_proxy:
        million_proxy()
    for customers in args.customers:
        compare(customers, args.err, args.exact_up_to, args.networkit_exact_up_to)


if __name__ == "__main__":
    main()
