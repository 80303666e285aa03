"""Top-k betweenness by adaptive sampling of shortest paths (KADABRA's method), hand-written with numba.

Why hand-written: networkit's ``KadabraBetweenness`` (11.3, the newest wheel on PyPI) computes the graph's
EXACT vertex diameter before its first sample, and exposes no way to bound or skip that step. On the
seeder-shaped graph of 1M customers (1.25M nodes, 5.9M edges) that step alone ran for more than 11
minutes on this 2-core machine; networkit's sampled sources (EstimateBetweenness) shared 0 of 20 between
two seeds. The diameter only sets the ceiling ``omega`` on the number of samples (through
``log2(VD - 2)``), so a cheap upper bound keeps the guarantee: one BFS per component, vertex diameter
<= 2 x eccentricity + 1. Side by side in ``bench/bench_betweenness.py`` (figures in
``crm/insights/centrality.py``'s docstring and README): this module is the only option measured that
ranks connectors at 1M nodes inside the nightly budget.

The method (Borassi & Natale, "KADABRA is an ADaptive Algorithm for Betweenness via Random
Approximation", ESA 2016): each sample is a uniformly random pair (s, t) of linked nodes and ONE
uniformly random shortest path between them, found by a balanced bidirectional BFS (the side whose
frontier has fewer edges grows next, so a sample touches a few thousand edges where a full BFS touches
all of them); every node inside the path scores one. ``count / samples`` estimates the node's
betweenness normalised over ordered pairs. Sampling stops at fixed checkpoints (a geometric schedule,
fixed in advance) as soon as the top ``k`` are settled: every node that could still belong to the top
``k`` (its upper confidence bound reaches the k-th's lower bound) is known within the error asked,
relative to the k-th value; or at ``omega`` samples, where the Riondato-Kornaropoulos bound holds for
every node; or when the work budget (edges scanned, so the stop does not depend on the machine's load)
is spent, in which case the achieved error is reported as is.
Confidence bounds are Bernstein's (the form KADABRA's f/g take at tau = omega) with a union bound over
nodes and checkpoints; the failure probability is shared out like KADABRA's: half of it over the
candidates a pilot sample found, the rest over every other node.

Deterministic: the pair draws come from splitmix64 streams seeded by (seed, batch, chunk), each chunk
on its own thread with its own workspace, so the result does not depend on thread scheduling.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numba
import numpy as np

CHUNKS = 2  # parallel streams (the machine has two cores); fixed, so results do not depend on the core count
UNREACHED = -1
# numba's default threading layer (workqueue) aborts the process when two threads launch parallel kernels
# at once (two stores refreshed in one server process, tests in threads): one run at a time
_launch = threading.Lock()


@numba.njit(cache=True, inline="always")
def _next(state, i):
    """splitmix64: the next 64-bit value of stream ``i`` (state[i] is advanced)."""
    state[i] += np.uint64(0x9E3779B97F4A7C15)
    z = state[i]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _uniform(state, i):
    return float(_next(state, i) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _one_path(indptr, indices, s, t, dist_s, dist_t, sig_s, sig_t, front, nxt, touched, counts, state, c):
    """Sample one shortest s-t path uniformly and add 1 to each inner node's count; the edges it scanned."""
    dist_s[s] = 0
    sig_s[s] = 1.0
    dist_t[t] = 0
    sig_t[t] = 1.0
    touched[0] = s
    touched[1] = t
    n_touched = 2
    # the two frontiers share ``front``: s-side in front[0, ns), t-side in front[m - nt, m)
    m = len(dist_s)
    front[0] = s
    front[m - 1] = t
    ns, nt = 1, 1
    depth_s, depth_t = 0, 0
    work_s = indptr[s + 1] - indptr[s]
    work_t = indptr[t + 1] - indptr[t]
    total = 0.0
    scanned = 0
    meet_u, meet_w = -1, -1
    while ns > 0 and nt > 0 and total == 0.0:
        grow_s = work_s <= work_t
        if grow_s:
            base, count, mine_d, mine_sig, other_d, other_sig, depth = 0, ns, dist_s, sig_s, dist_t, sig_t, depth_s
        else:
            base, count, mine_d, mine_sig, other_d, other_sig, depth = m - nt, nt, dist_t, sig_t, dist_s, sig_s, depth_t
        nn = 0
        work = 0
        for i in range(count):
            u = front[base + i]
            scanned += indptr[u + 1] - indptr[u]
            for e in range(indptr[u], indptr[u + 1]):
                w = indices[e]
                if other_d[w] != UNREACHED:
                    # an edge between the two searches: every shortest path crosses exactly one such edge;
                    # pick one with probability proportional to the paths through it (weighted reservoir)
                    weight = mine_sig[u] * other_sig[w]
                    total += weight
                    if _uniform(state, c) * total < weight:
                        meet_u, meet_w = (u, w) if grow_s else (w, u)
                elif mine_d[w] == UNREACHED:
                    mine_d[w] = depth + 1
                    mine_sig[w] = mine_sig[u]
                    nxt[nn] = w
                    nn += 1
                    touched[n_touched] = w
                    n_touched += 1
                    work += indptr[w + 1] - indptr[w]
                elif mine_d[w] == depth + 1:
                    mine_sig[w] += mine_sig[u]
        if total > 0.0:
            break
        if grow_s:
            for i in range(nn):
                front[i] = nxt[i]
            ns, depth_s, work_s = nn, depth_s + 1, work
        else:
            for i in range(nn):
                front[m - nn + i] = nxt[i]
            nt, depth_t, work_t = nn, depth_t + 1, work
    if total > 0.0:
        # walk back from the meeting edge to s and to t, each step to a predecessor chosen in proportion
        # to its path count: a uniformly random shortest path
        for side in range(2):
            v = meet_u if side == 0 else meet_w
            d = dist_s if side == 0 else dist_t
            sig = sig_s if side == 0 else sig_t
            while d[v] > 0:
                counts[v] += 1
                acc = 0.0
                pick = -1
                for e in range(indptr[v], indptr[v + 1]):
                    p = indices[e]
                    if d[p] == d[v] - 1:
                        acc += sig[p]
                        if _uniform(state, c) * acc < sig[p]:
                            pick = p
                v = pick
    for i in range(n_touched):
        v = touched[i]
        dist_s[v] = UNREACHED
        dist_t[v] = UNREACHED
    return scanned


@numba.njit(cache=True, parallel=True)
def _sample_batch(indptr, indices, per_chunk, state, dist_s, dist_t, sig_s, sig_t, front, nxt, touched, counts,
                  scanned):
    """``per_chunk`` samples on each of the ``len(state)`` streams, in parallel; counts[c] and the edges
    scanned, scanned[c], per stream."""
    m = len(indptr) - 1
    for c in numba.prange(len(state)):
        for _ in range(per_chunk):
            s = np.int64(_next(state, c) % np.uint64(m))
            t = np.int64(_next(state, c) % np.uint64(m - 1))
            if t >= s:
                t += 1
            scanned[c] += _one_path(indptr, indices, s, t, dist_s[c], dist_t[c], sig_s[c], sig_t[c], front[c],
                                    nxt[c], touched[c], counts[c], state, c)


@numba.njit(cache=True)
def _eccentricity_bound(indptr, indices):
    """An upper bound on the vertex diameter: 2 x the eccentricity of one node per component, + 1."""
    m = len(indptr) - 1
    dist = np.full(m, -1, dtype=np.int32)
    queue = np.empty(m, dtype=np.int64)
    bound = 1
    for root in range(m):
        if dist[root] >= 0:
            continue
        dist[root] = 0
        queue[0] = root
        head, tail, ecc = 0, 1, 0
        while head < tail:
            u = queue[head]
            head += 1
            for e in range(indptr[u], indptr[u + 1]):
                w = indices[e]
                if dist[w] < 0:
                    dist[w] = dist[u] + 1
                    ecc = max(ecc, dist[w])
                    queue[tail] = w
                    tail += 1
        bound = max(bound, 2 * ecc + 1)
    return bound


@dataclass
class TopK:
    scores: np.ndarray  # per node, count / samples: betweenness over ordered pairs of the m nodes
    lower: np.ndarray  # confidence bounds per node (probability 1 - delta for all at once)
    upper: np.ndarray
    samples: int
    omega: int  # the ceiling: at omega samples every node is within ``err_abs`` of its betweenness
    vertex_diameter_bound: int
    settled: bool  # the top k are known within ``rel_err`` of the k-th value (or separated)
    reason: str  # "separated", "within error", "omega", "work budget", "time budget"
    edges_scanned: int
    achieved_rel_err: float  # widest half-interval among the top-k candidates, relative to the k-th value
    seconds: float


def _bernstein(b, tau, log_term):
    """Half-widths (below, above) of Bernstein's bound around a Binomial(tau, b)/tau estimate ``b``:
    KADABRA's f and g at tau = omega."""
    below = (-(2 * log_term / 3) + np.sqrt((2 * log_term / 3) ** 2 + 2 * tau * log_term * b)) / tau
    above = ((4 * log_term / 3) + np.sqrt((4 * log_term / 3) ** 2 + 2 * tau * log_term * b)) / tau
    return np.minimum(below, b), above


def top_k(indptr: np.ndarray, indices: np.ndarray, *, k: int = 20, rel_err: float = 0.1, delta: float = 0.1,
          err_abs: float = 0.0015, seed: int = 7, budget_edges: float = 1e12, budget_seconds: float = 1_800.0,
          first: int = 4_000,
          growth: float = 1.25) -> TopK:
    """The top ``k`` betweenness of the undirected graph in CSR form (nodes 0..m-1), by sampled paths.

    Stops as soon as every node that may belong to the top ``k`` is known within ``rel_err`` x the k-th
    value, or the top ``k`` are separated from the rest, with probability 1 - ``delta``; else at
    ``omega`` samples (every node within ``err_abs``) or before the next checkpoint would scan more than
    ``budget_edges`` edges in all (or take more than ``budget_seconds``, a safety net that makes the result
    depend on the machine's speed: it should never be what stops a run)."""
    started = time.perf_counter()
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    m = len(indptr) - 1
    if m < 3:
        z = np.zeros(max(m, 0))
        return TopK(z, z, z, 0, 0, m, True, "separated", 0, 0.0, 0.0)
    vd = int(_eccentricity_bound(indptr, indices))
    # Riondato-Kornaropoulos with the VC dimension bound floor(log2(VD - 2)) + 1, c = 0.5 (as KADABRA)
    omega = int(math.ceil(0.5 / err_abs ** 2 * (math.floor(math.log2(max(vd - 2, 1))) + 1 + math.log(2 / delta))))
    checkpoints = []
    tau = first
    while tau < omega:
        checkpoints.append(tau)
        tau = int(math.ceil(tau * growth))
    checkpoints.append(omega)
    work = [np.full((CHUNKS, m), UNREACHED, dtype=np.int32), np.full((CHUNKS, m), UNREACHED, dtype=np.int32),
            np.zeros((CHUNKS, m)), np.zeros((CHUNKS, m)), np.empty((CHUNKS, m), dtype=np.int64),
            np.empty((CHUNKS, m), dtype=np.int64), np.empty((CHUNKS, m), dtype=np.int64)]
    def draw(samples: int, stream: int) -> np.ndarray:
        per_chunk = -(-samples // CHUNKS)
        state = np.array([((seed * 1_000_003 + stream * CHUNKS + c + 1) * 0xD1342543DE82EF95) % 2 ** 64
                          for c in range(CHUNKS)], dtype=np.uint64)
        counts = np.zeros((CHUNKS, m), dtype=np.int32)
        scanned = np.zeros(CHUNKS, dtype=np.int64)
        with _launch:
            _sample_batch(indptr, indices, per_chunk, state, *work, counts, scanned)
        return counts.sum(axis=0, dtype=np.int64), per_chunk * CHUNKS, int(scanned.sum())

    # pilot (its own stream, not counted): where to spend the failure probability, as KADABRA does
    pilot, _, _ = draw(first, 0)
    candidates = np.zeros(m, dtype=bool)
    candidates[np.argsort(-pilot, kind="stable")[:max(50 * k, 1_000)]] = True
    n_cand = int(candidates.sum())
    per_check = delta / 2 / (2 * len(checkpoints))  # half of delta for the bounds, half for omega; two tails
    log_term = np.where(candidates, math.log(2 * n_cand / per_check), math.log(2 * max(m - n_cand, 1) / per_check))

    counts = np.zeros(m, dtype=np.int64)
    samples, stream, scanned = 0, 1, 0
    result = None
    for target in checkpoints:
        if samples < target:
            got, drawn, edges = draw(target - samples, stream)
            counts += got
            samples += drawn
            scanned += edges
            stream += 1
        b = counts / samples
        below, above = _bernstein(b, samples, log_term)
        lower, upper = b - below, b + above
        order = np.argsort(-b, kind="stable")
        kth = order[min(k, m) - 1]
        kth_lower = lower[kth]
        # nodes that may still be in the top k: their upper bound reaches the k-th's lower bound
        maybe = upper >= kth_lower
        in_top = np.zeros(m, dtype=bool)
        in_top[order[:k]] = True
        width = np.maximum(below, above)
        # each candidate's interval relative to its own value (never below the k-th's): the order of the
        # leaders and the edge of the list are what a reader sees
        achieved = float((width[maybe] / np.maximum(b[maybe], b[kth])).max()) if b[kth] > 0 else math.inf
        elapsed = time.perf_counter() - started
        reason = None
        if not (maybe & ~in_top).any():
            reason = "separated"
        elif achieved <= rel_err:
            reason = "within error"
        elif samples >= omega:
            reason = "omega"
        else:
            # the budget is in edges scanned, not seconds, so that two runs on the same graph with the same
            # seed stop at the same checkpoint whatever the machine's load; seconds are only a safety net
            nxt = checkpoints[min(checkpoints.index(target) + 1, len(checkpoints) - 1)]
            if scanned * nxt / samples > budget_edges:
                reason = "work budget"
            elif elapsed * nxt / samples > budget_seconds:
                reason = "time budget"
        if reason is not None:
            result = TopK(b, lower, upper, samples, omega, vd, reason in ("separated", "within error", "omega"),
                          reason, scanned, achieved, time.perf_counter() - started)
            break
    assert result is not None
    return result
