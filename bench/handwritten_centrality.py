"""The hand-written numpy Brandes betweenness and vectorised Louvain that crm/insights/centrality.py used to
hold, kept ONLY so bench/bench_insights.py can show the side-by-side run that retired them (this
Louvain lost modularity between levels on large graphs: NMI 0.70 on the LFR graph of 100,000 nodes
where Leiden reaches 0.89). Not used by the product. The hand-written PageRank was kept in the
product (crm/insights/centrality.py says why), so the bench times that one rather than a copy here."""
from __future__ import annotations

import numpy as np
from scipy import sparse

BATCH = 64


def betweenness(adjacency: sparse.csr_matrix, *, k: int | None = 256, seed: int = 7,
                sources: np.ndarray | None = None, normalized: bool = True) -> np.ndarray:
    """Shortest-path betweenness (hop counts), estimated from ``k`` random sources like networkx's ``k=``.

    Normalised like networkx for an undirected graph: ``1/((n-1)(n-2))``, scaled by ``n/k``
    when sampling.
    """
    n = adjacency.shape[0]
    if n < 3:
        return np.zeros(n)
    pattern = adjacency.copy().astype(np.float32)
    pattern.data[:] = 1.0
    if sources is None:
        if k is None or k >= n:
            sources = np.arange(n)
        else:
            sources = np.random.default_rng(seed).choice(n, size=k, replace=False)
    result = np.zeros(n)
    for start in range(0, len(sources), BATCH):
        result += _brandes_batch(pattern, np.asarray(sources[start:start + BATCH]))
    scale = 1.0
    if normalized:
        scale = 1.0 / ((n - 1) * (n - 2))
    else:
        scale = 0.5  # undirected: each pair counted from both ends
    if len(sources) < n:
        scale *= n / len(sources)
    return result * scale


def _brandes_batch(pattern: sparse.csr_matrix, sources: np.ndarray) -> np.ndarray:
    """Dependencies of every node on shortest paths from a batch of sources (one column each)."""
    n, b = pattern.shape[0], len(sources)
    cols = np.arange(b)
    level = np.full((n, b), -1, dtype=np.int16)
    sigma = np.zeros((n, b), dtype=np.float32)
    level[sources, cols] = 0
    sigma[sources, cols] = 1.0
    frontier = sigma.copy()
    depth = 0
    while True:
        reached = pattern @ frontier  # shortest-path counts arriving one hop further
        new = reached > 0
        new &= level < 0
        if not new.any():
            break
        depth += 1
        level[new] = depth
        np.multiply(reached, new, out=frontier)
        sigma += frontier
    delta = np.zeros((n, b), dtype=np.float32)
    inv_sigma = np.divide(1.0, sigma, out=np.zeros_like(sigma), where=sigma > 0)
    coeff = np.empty_like(delta)
    for d in range(depth, 0, -1):
        # w at level d hands (1 + delta_w) / sigma_w to each predecessor v, weighted by sigma_v
        np.add(delta, 1.0, out=coeff)
        coeff *= inv_sigma
        coeff *= level == d
        pulled = pattern @ coeff  # the pattern is symmetric: successors are neighbours
        pulled *= sigma
        pulled *= level == d - 1
        delta += pulled
    delta[sources, cols] = 0.0
    return delta.sum(axis=1, dtype=np.float64)


def label_propagation(adjacency: sparse.csr_matrix, *, rounds: int = 30, seed: int = 7) -> np.ndarray:
    """Weighted label propagation; returns labels 0..L-1 per node."""
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    coo = adjacency.tocoo()
    src, dst, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    labels = np.arange(n, dtype=np.int64)
    # a little jitter breaks ties the same way every run (seeded)
    jitter = rng.random(len(w)) * 1e-6
    for _ in range(rounds):
        key = src * n + labels[dst]
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        boundaries = np.ones(len(key_sorted), dtype=bool)
        boundaries[1:] = key_sorted[1:] != key_sorted[:-1]
        group = np.cumsum(boundaries) - 1
        weight = np.bincount(group, weights=(w + jitter)[order])
        group_key = key_sorted[boundaries]
        node, label = group_key // n, group_key % n
        # per node, the label with the largest weight (ties: the smallest label)
        best = np.lexsort((label, -weight, node))
        first = np.ones(len(best), dtype=bool)
        first[1:] = node[best][1:] != node[best][:-1]
        winners = best[first]
        proposal = labels.copy()
        proposal[node[winners]] = label[winners]
        moving = rng.random(n) < 0.5
        changed = moving & (proposal != labels)
        if not changed.any():
            if (proposal == labels).all():
                break
            continue
        labels = np.where(moving, proposal, labels)
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def communities(adjacency: sparse.csr_matrix, *, seed: int = 7, resolution: float = 1.0,
                max_levels: int = 6) -> np.ndarray:
    """Louvain (modularity), vectorised: every round all nodes pick their best neighbouring community
    at once and a random half of those who gain actually move (so neighbours do not swap forever);
    then communities become nodes of a smaller graph, and again, until nothing merges."""
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64)
    graph = adjacency.tocsr().astype(np.float64)
    for _ in range(max_levels):
        local = _local_moving(graph, resolution, rng)
        groups = int(local.max()) + 1
        labels = local[labels]
        if groups == graph.shape[0]:
            break
        member = sparse.csr_matrix((np.ones(len(local)), (np.arange(len(local)), local)),
                                   shape=(len(local), groups))
        graph = (member.T @ graph @ member).tocsr()
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def _local_moving(graph: sparse.csr_matrix, resolution: float, rng, rounds: int = 40) -> np.ndarray:
    """One Louvain level. ``graph`` may carry self-loops (internal weight of merged nodes)."""
    n = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
    two_m = degree.sum()
    if two_m == 0:
        return np.arange(n)
    coo = graph.tocoo()
    off = coo.row != coo.col
    src, dst, w = coo.row[off].astype(np.int64), coo.col[off].astype(np.int64), coo.data[off]
    community = np.arange(n, dtype=np.int64)
    total = degree.copy()
    for _ in range(rounds):
        key = src * n + community[dst]
        keys, inverse = np.unique(key, return_inverse=True)
        weight = np.bincount(inverse, weights=w)
        node, target = keys // n, keys % n
        own = target == community[node]
        to_own = np.zeros(n)
        to_own[node[own]] = weight[own]
        k = degree[node]
        gain = weight - resolution * k * total[target] / two_m
        stay = to_own - resolution * degree * (total[community] - degree) / two_m
        gain[own] = -np.inf
        best = np.full(n, -np.inf)
        np.maximum.at(best, node, gain)
        winner = np.full(n, -1, dtype=np.int64)
        is_best = (gain == best[node]) & np.isfinite(gain)
        # ties: the smallest community id, the same every run
        order = np.lexsort((target[is_best], node[is_best]))
        chosen_node, chosen_target = node[is_best][order], target[is_best][order]
        first = np.ones(len(chosen_node), dtype=bool)
        first[1:] = chosen_node[1:] != chosen_node[:-1]
        winner[chosen_node[first]] = chosen_target[first]
        movers = (winner >= 0) & (best > stay + 1e-12) & (rng.random(n) < 0.5)
        if not movers.any():
            if not ((winner >= 0) & (best > stay + 1e-12)).any():
                break
            continue
        community = np.where(movers, winner, community)
        total = np.bincount(community, weights=degree, minlength=n)
    _, community = np.unique(community, return_inverse=True)
    return community
