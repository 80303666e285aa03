"""Centralities and communities of the account graph: igraph (C++) and our compiled path sampler.

Choices, measured side by side in ``bench/bench_insights.py`` (the hand-written numpy versions
this module used to hold were deleted: on an LFR graph of 100,000 nodes their Louvain lost
modularity between levels, 0.611 -> 0.582, NMI 0.70 against the planted communities where
igraph reaches 0.89, and their sampled betweenness picked sources by position):

* PageRank: kept hand-written (power iteration on the sparse matrix, equals networkx): the side-by-side
  run showed it clearly better, 3 ms against igraph's 1.3-10 s on the 10k seeded store.
* Betweenness (by hops, unweighted, undirected, no cutoff: brokerage is about who sits between whom):
  exact with igraph (Brandes) while the graph is small (``EXACT_WORK`` = linked nodes x edges, up to
  about 5,000 customers, ~2 s); above that, at every size, the top 20 from sampled shortest paths
  (``crm/insights/path_sampling.py``: KADABRA's adaptive sampling, hand-written with numba because
  networkit's KADABRA cannot skip its exact-diameter step). It runs on the linked nodes only, numbered by
  a hash of each customer's or company's id, so adding or removing an unlinked customer changes nothing;
  its budget is counted in edges scanned (``PATH_WORK``), not seconds, so two runs with one seed give the
  same numbers whatever the load (unless the ``PATH_SECONDS`` safety net stops it first, which the
  result says); it reports the error it reached, which ``/crm insights`` prints.
  History, side by side in ``bench/bench_betweenness.py`` (same machine, same run): exact Brandes costs
  O(nodes x edges) -- 10-16 s at 10,000 customers with igraph, 51 s at 20k on a quiet machine (642 s
  under load 15); networkit's KADABRA at err 0.0015 took 23-65 s at 100k with two seeds sharing 19 of
  20 (270-500 s inside the loaded nightly job), but at 1M (seeder-shaped graph, 1.25M nodes, 5.9M edges)
  its first step, the graph's EXACT vertex diameter, ran for more than 11 minutes; networkit 11.3 is
  the newest wheel and exposes no way to bound that step. The diameter only sets the ceiling on the
  sample count through log2(VD - 2), so path_sampling bounds it by one BFS per component (VD <= 2 x
  eccentricity + 1). Sources sampled by hash (igraph) shared 5 of 20 at 100k with 1,000 sources;
  networkit's EstimateBetweenness 0 of 20 at 1M with 16; igraph's ``cutoff`` (bounded hops) 9-14 of 20
  at 100k: all stay out of the product.
  Sampled paths, measured 2026-11-30 at nice 15 under load 15-21 from the other developers (wall seconds
  inflated 5-15x; CPU seconds are the figure): at 20k (seeder-shaped, heavy-tailed connectors) both seeds
  20/20 with the exact top 20 (542k-678k paths until the top 20 separated, ~12 CPU-s; exact 642 s wall in
  the same run); at 100k (125k nodes) two seeds 20/20, 1.32M paths, 48 CPU-s each (KADABRA: 270-500 s
  in the nightly job); at 1M seeder-shaped (1.2M linked nodes, 6.1M edges) two seeds 20/20, the 20
  most-linked planted connectors, 114k paths each in 250-256 s wall at load 4.5-9 (stopped by the
  ``PATH_SECONDS`` net), 72 CPU-s, 899 MiB peak for the probe (under load 15-21: 58k paths, still 20/20);
  on a 1M Barabasi-Albert graph (heavy-tailed like social graphs) two seeds 19/20, 347k paths in
  268-292 s wall at load 6-15, 66 CPU-s, 679 MiB (under load 15-21: 222k paths, 19/20).
  The seeder's old connectors (1,000 with exactly 40 links each) made the top 20 a draw among near-equal
  values: two seeds shared 15 of 20 at 100k with 230k paths, and 2 of 20 at 1M with 45k; the seeder now
  gives them Zipf link counts (``crm.seed.connector_links``), as real account graphs are heavy-tailed.
  When the top 20 cannot be separated within the budget, the job says so (error bound, "may swap
  places") rather than ranking silently.
* Communities: Leiden (igraph's ``community_leiden``, modularity objective), a fixed number of
  passes, each starting from the previous partition, so modularity never decreases from one pass
  to the next. On the LFR graph (n=100,000, mixing 0.3) it reaches NMI 0.888 against the planted
  communities, igraph's multilevel 0.885, in a third of the time. At 1M (synthetic, load 12-14):
  124 s, modularity 0.926, 1.4 GiB peak with PageRank (16 s) and the igraph graph.

All results are deterministic for a given graph and seed: igraph draws from a seeded
``random.Random`` installed only for the duration of the call.
"""
from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import igraph as ig
import numpy as np
from scipy import sparse

# linked nodes x edges up to which betweenness is exact: a store of 5,000 customers (~6k linked nodes,
# ~20k edges) is exact, ~2 s; exact Brandes grows as nodes x edges (10-16 s at 10k customers, about a
# minute at 20k), where the sampled top 20 match the exact ones (20 of 20)
EXACT_WORK = 150_000_000
# hashed sources for ``betweenness(k=...)``, the bench's comparison only (5 of 20 shared at 100k): edges x
# sources is their budget, ~2,500 sources at 100k customers, never fewer than 500 nor more than 4,000
MIN_SOURCES, MAX_SOURCES = 500, 4_000
SOURCE_WORK = 1_000_000_000
LEIDEN_PASSES = 2
# networkit's KADABRA, the bench's comparison only: additive error on normalised betweenness. 0.0015: two
# seeds share 19 of 20 at 100k in 23-65 s; 0.001 took ~500 s there, 0.002 shared 18; > 11 min at 1M
KADABRA_ERR = 0.0015
# above EXACT_WORK, the top 20 by sampled shortest paths (crm/insights/path_sampling.py): sampling stops when
# the candidates for the top 20 are known within PATH_REL_ERR of their value (probability 1 - PATH_DELTA), or
# when the sampled searches have scanned PATH_WORK edges: a budget in work, not seconds, so that two runs agree
# whatever the machine's load. PATH_WORK = 2.5e9 edges: ~1.3M paths at 100k customers, ~2 min at load 10 on
# this 2-core machine; ~125k paths at 1M (bench/bench_betweenness.py)
PATH_REL_ERR = 0.05
PATH_DELTA = 0.1
PATH_WORK = 2.5e9
# a safety net for the nightly job's 10 minutes at 1M (Leiden, PageRank and the graph build take ~4 of them):
# when it stops a run, the result depends on the machine's load and says so ("time budget", the error reached)
PATH_SECONDS = 300.0
TOP = 20
_rng_lock = threading.Lock()


@contextmanager
def seeded(seed: int):
    """igraph draws from Python's ``random`` by default; give it a seeded generator of its own for
    one call (a lock, because the generator is process-wide)."""
    with _rng_lock:
        ig.set_random_number_generator(random.Random(seed))
        try:
            yield
        finally:
            ig.set_random_number_generator(random)


def to_igraph(adjacency: sparse.csr_matrix, *, weighted: bool = True) -> ig.Graph:
    """The symmetric adjacency as an undirected igraph graph (each pair once, strengths as ``weight``)."""
    n = adjacency.shape[0]
    upper = sparse.triu(adjacency, k=1).tocoo()
    # igraph parses plain lists of pairs 4-9x faster than rows of a numpy array (bench: 1M customers,
    # 5.9M edges, 58 s under load 14 the old way)
    edges = list(zip(upper.row.tolist(), upper.col.tolist()))
    attrs = {"weight": upper.data.astype(np.float64).tolist()} if weighted else {}
    return ig.Graph(n=n, edges=edges, directed=False, edge_attrs=attrs)


def pagerank(adjacency: sparse.csr_matrix, *, alpha: float = 0.85, tol: float = 1e-10,
             max_iter: int = 1000, graph: ig.Graph | None = None) -> np.ndarray:
    """Weighted PageRank by power iteration on the CSR we already hold (networkx's ``_pagerank_scipy``
    method; dangling nodes jump uniformly). Hand-written on purpose: on the 10k seeded store it takes
    3 ms where igraph's PRPACK takes 7-10 s and its ARPACK 1.3 s (bench/bench_insights.py)."""
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0)
    out_weight = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = out_weight == 0
    inv = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out_weight))
    transition_t = (sparse.diags(inv) @ adjacency).T.tocsr()  # column-stochastic
    x = np.full(n, 1.0 / n)
    p = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        last = x
        x = alpha * (transition_t @ x + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            break
    return x / x.sum()


def stable_hash(keys: np.ndarray, salt: int = 0) -> np.ndarray:
    """splitmix64 of each key: a pseudo-random order that depends on the key only."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (salt + 1)) % 2 ** 64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def sources_for(linked: int, edges: int) -> int | None:
    """None (exact) while exact betweenness is affordable; otherwise how many sampled sources."""
    if linked * max(edges, 1) <= EXACT_WORK:
        return None
    return int(min(linked, max(MIN_SOURCES, min(MAX_SOURCES, SOURCE_WORK // max(edges, 1)))))


def sample_sources(adjacency: sparse.csr_matrix, keys: np.ndarray, k: int, *, salt: int = 0) -> np.ndarray:
    """The ``k`` linked nodes whose keys hash lowest: independent of positions and of unlinked nodes."""
    linked = np.flatnonzero(np.diff(adjacency.indptr) > 0)
    if k >= len(linked):
        return linked
    order = np.argsort(stable_hash(keys[linked], salt), kind="stable")
    return np.sort(linked[order[:k]])


def betweenness(adjacency: sparse.csr_matrix, *, k: int | None = None, sources: np.ndarray | None = None,
                keys: np.ndarray | None = None, salt: int = 0, normalized: bool = True,
                graph: ig.Graph | None = None) -> np.ndarray:
    """Shortest-path betweenness by hop count, normalised like networkx (``2/((n-1)(n-2))``).

    Exact when neither ``k`` nor ``sources`` is given; otherwise from those sources (or ``k`` sources
    picked by ``sample_sources`` from ``keys``, default the positions), scaled by ``n/len(sources)``
    like networkx's ``k=`` estimate.
    """
    n = adjacency.shape[0]
    if n < 3:
        return np.zeros(n)
    g = graph if graph is not None else to_igraph(adjacency, weighted=False)
    if sources is None and k is not None:
        sources = sample_sources(adjacency, np.arange(n) if keys is None else keys, k, salt=salt)
    if sources is None or len(sources) >= n:
        raw = np.asarray(g.betweenness(directed=False, weights=None), dtype=np.float64)
        scale = 1.0
    else:
        raw = np.asarray(g.betweenness(directed=False, weights=None, sources=[int(s) for s in sources]),
                         dtype=np.float64)
        scale = n / len(sources)
    if normalized:
        scale *= 2.0 / ((n - 1) * (n - 2))
    return raw * scale


@dataclass
class Communities:
    labels: np.ndarray  # 0..C-1 per node, the largest community first
    modularity: list[float]  # after each pass: never decreasing


def detect_communities(adjacency: sparse.csr_matrix, *, seed: int = 7, resolution: float = 1.0,
                       passes: int = LEIDEN_PASSES, graph: ig.Graph | None = None) -> Communities:
    """Leiden (modularity, weighted), ``passes`` passes each starting from the last partition."""
    n = adjacency.shape[0]
    if n == 0:
        return Communities(np.zeros(0, dtype=np.int64), [])
    g = graph if graph is not None else to_igraph(adjacency)
    weights = "weight" if g.ecount() else None
    membership, history = None, []
    with seeded(seed):
        for _ in range(max(1, passes)):
            part = g.community_leiden(objective_function="modularity", weights=weights, resolution=resolution,
                                      n_iterations=1, initial_membership=membership)
            history.append(float(g.modularity(part.membership, weights=weights, resolution=resolution)))
            if membership is not None and part.membership == membership:
                break
            membership = part.membership
    labels = np.asarray(membership, dtype=np.int64)
    # number communities by size (largest first), ties by their smallest node: stable to read
    sizes = np.bincount(labels)
    first = np.full(len(sizes), n)
    np.minimum.at(first, labels, np.arange(n))
    order = np.lexsort((first, -sizes))
    relabel = np.empty(len(sizes), dtype=np.int64)
    relabel[order] = np.arange(len(sizes))
    return Communities(relabel[labels], history)


def communities(adjacency: sparse.csr_matrix, *, seed: int = 7, resolution: float = 1.0) -> np.ndarray:
    return detect_communities(adjacency, seed=seed, resolution=resolution).labels


def competition_rank(values: np.ndarray, *, tolerance: float = 1e-9) -> np.ndarray:
    """1 for the highest value; ties share a rank and the next rank skips ("1, 2, 2, 4").

    Values equal up to floating-point noise (the summation order of Brandes' algorithm differs
    from node to node, so the 20 equal betweennesses of a dodecahedron come out a few ulps apart)
    are a tie: sorted, a value starts a new rank only when it is more than ``tolerance`` x the
    largest magnitude below the previous one. Rounding to a fixed number of digits would not do:
    two values one float apart can sit either side of a rounding boundary."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-values, kind="stable")
    ordered = values[order]
    gap = tolerance * max(float(np.abs(values).max()), np.finfo(np.float64).tiny)
    starts = np.ones(n, dtype=bool)
    starts[1:] = (ordered[:-1] - ordered[1:]) > gap
    # each value's rank is 1 + the position of the first value of its group
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = first + 1
    return ranks


def linked_in_hash_order(adjacency: sparse.csr_matrix, keys: np.ndarray) -> np.ndarray | None:
    """The linked nodes in the order of their keys' hash, which is how the samplers number them: neither
    positions nor unlinked customers change what they sample. None when fewer than 3 (nothing between)."""
    linked = np.flatnonzero(np.diff(adjacency.indptr) > 0)
    if adjacency.shape[0] < 3 or len(linked) < 3:
        return None
    return linked[np.argsort(stable_hash(keys[linked]), kind="stable")]


def kadabra_betweenness(adjacency: sparse.csr_matrix, keys: np.ndarray, *, top: int = 20, err: float | None = None,
                        delta: float = 0.1, seed: int = 7, threads: int = 2) -> np.ndarray:
    """networkit's KADABRA (adaptive sampling of shortest paths): the top ``top`` ranked with an
    error guarantee, every other node approximated; normalised like networkx. The bench's side-by-side
    only: before its first sample it computes the exact vertex diameter (> 11 min at 1M nodes).

    It runs on the linked nodes only, numbered in the order of their keys' hash, so neither
    positions nor unlinked customers change what it samples."""
    import networkit as nk

    err = KADABRA_ERR if err is None else err
    n = adjacency.shape[0]
    order = linked_in_hash_order(adjacency, keys)
    if order is None:
        return np.zeros(n)
    index = np.full(n, -1, dtype=np.int64)
    index[order] = np.arange(len(order))
    upper = sparse.triu(adjacency, k=1).tocoo()
    g = nk.Graph(len(order), weighted=False, directed=False)
    g.addEdges((index[upper.row].astype(np.uint64), index[upper.col].astype(np.uint64)))
    nk.setNumberOfThreads(threads)
    nk.engineering.setSeed(seed, True)
    algo = nk.centrality.KadabraBetweenness(g, err, delta, True, min(top, len(order)))
    algo.run()
    scores = np.asarray(algo.scores(), dtype=np.float64)  # over ordered pairs of the linked nodes
    m = len(order)
    out = np.zeros(n)
    out[order] = scores * m * (m - 1) / (2.0 * (n - 1) * (n - 2))
    return out


def sampled_betweenness(adjacency: sparse.csr_matrix, keys: np.ndarray, *, top: int = TOP, seed: int = 7,
                        rel_err: float | None = None, work: float | None = None, delta: float | None = None
                        ) -> tuple[np.ndarray, "path_sampling.TopK | None"]:
    """Betweenness estimated from sampled shortest paths, the top ``top`` ranked with a confidence bound;
    normalised like networkx. Runs on the linked nodes only, numbered in the order of their keys' hash,
    so neither positions nor unlinked customers change what it samples."""
    from crm.insights import path_sampling

    n = adjacency.shape[0]
    order = linked_in_hash_order(adjacency, keys)
    if order is None:
        return np.zeros(n), None
    sub = adjacency[order][:, order].tocsr()
    sub.sort_indices()  # neighbour order follows the hash order too, not positions
    found = path_sampling.top_k(sub.indptr, sub.indices, k=min(top, len(order)),
                                rel_err=PATH_REL_ERR if rel_err is None else rel_err,
                                delta=PATH_DELTA if delta is None else delta, seed=seed,
                                budget_edges=PATH_WORK if work is None else work, budget_seconds=PATH_SECONDS)
    m = len(order)
    out = np.zeros(n)
    # the sampler's values are over ordered pairs of the m linked nodes; networkx divides by (n-1)(n-2)
    out[order] = found.scores * m * (m - 1) / ((n - 1) * (n - 2))
    return out, found


def connector_betweenness(adjacency: sparse.csr_matrix, keys: np.ndarray, *, seed: int = 7,
                          graph: ig.Graph | None = None) -> tuple[np.ndarray, str, dict]:
    """What the nightly job uses: exact while affordable, else sampled shortest paths with the top 20's
    confidence bound. Returns the values, the method in words and what a reader needs to judge the
    numbers: ``betweenness_error`` (the widest half-interval among the top-20 candidates, relative to
    their values; None when exact), ``betweenness_settled`` (the top 20 known within ``PATH_REL_ERR``)."""
    linked = int((np.diff(adjacency.indptr) > 0).sum())
    if sources_for(linked, adjacency.nnz // 2) is None:
        return betweenness(adjacency, graph=graph), "exact", dict(betweenness_error=None, betweenness_settled=True)
    values, found = sampled_betweenness(adjacency, keys, seed=seed)
    if found is None:
        return values, "exact", dict(betweenness_error=None, betweenness_settled=True)
    method = (f"sampled shortest paths: {found.samples:,} paths, top {TOP} within ±{100 * found.achieved_rel_err:.0f}% "
              f"(probability {1 - PATH_DELTA:.0%}; stopped: {found.reason})")
    return values, method, dict(betweenness_error=round(float(found.achieved_rel_err), 4),
                                betweenness_settled=bool(found.settled), betweenness_samples=int(found.samples))
