"""The relationship graph: staff, customers and companies, and the warmest paths through it.

Nodes: customers (positions ``0..C-1``) and companies (``C..C+O-1``) form the *account graph*,
undirected, with customer–customer relationships and customer–company membership. Staff
join it through staff–customer edges whose strength comes from interactions:

    for each interaction i between staff s and customer c (internal notes excluded),
        age_i in days, w_i = kind_weight_i * 2 ** (-age_i / HALF_LIFE_DAYS)
        (kind weights: meeting 1.5, call 1.2, everything else 1.0)
    O = sum of w_i over outbound,  I = sum of w_i over inbound
        (a call or a meeting is a conversation whoever logged it: half its w_i counts each way;
         a customer's Telegram message nobody logged counts for its ticket's assignee, else the owner)
    frequency f = 1 - exp(-(O + I) / SATURATION)        recent, frequent contact -> 1
    balance   b = 2 * min(O, I) / (O + I)                  one-way contact -> 0
    strength    = f * (ONE_WAY_CAP + (1 - ONE_WAY_CAP) * b)  one-way contact stays <= ONE_WAY_CAP

A path's strength is the product of its hops' strengths, so the warmest path is a shortest
path with hop cost ``-ln(strength)``, searched by levels (at most ``MAX_HOPS`` hops) around the target.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from crm.insights.snapshot import DAY, INBOUND, INTERNAL, OUTBOUND, REL_KINDS, Snapshot

HALF_LIFE_DAYS = 30.0
SATURATION = 2.0
ONE_WAY_CAP = 0.25
KIND_WEIGHT = np.array([1.2, 1.0, 1.5, 1.0, 0.0, 1.0])  # call, email, meeting, chat, note, message
MEMBERSHIP_STRENGTH = 0.5  # two contacts at the same company: 0.5 * 0.5 = 0.25
# the faintest stored strength the graph keeps as it is: imported weights are scaled by the file's largest,
# so counts from 1 to 1,000 give 0.001 (raising them to 0.01 distorted weighted PageRank); it matches the
# floor of the path costs (-ln strength), and zero strength (no edge) never reaches the graph
STRENGTH_FLOOR = 1e-6
WARM_FLOOR = 0.01  # paths weaker than this are not worth an introduction
HOP_PENALTY = 1e-6  # ties go to the shorter path


CONVERSATION_KINDS = np.array([0, 2])  # call, meeting: two-way by nature


def strength_formula(outbound: np.ndarray, inbound: np.ndarray) -> np.ndarray:
    volume = outbound + inbound
    frequency = 1.0 - np.exp(-volume / SATURATION)
    with np.errstate(invalid="ignore", divide="ignore"):
        balance = np.where(volume > 0, 2.0 * np.minimum(outbound, inbound) / volume, 0.0)
    return frequency * (ONE_WAY_CAP + (1.0 - ONE_WAY_CAP) * balance)


@dataclass
class StaffEdges:
    """One row per (staff, customer) pair that ever interacted, sorted by customer."""

    staff: np.ndarray  # staff position
    customer: np.ndarray  # customer position
    strength: np.ndarray
    outbound: np.ndarray
    inbound: np.ndarray
    last_at: np.ndarray  # epoch seconds of the newest interaction
    count: np.ndarray  # interactions, undecayed


def staff_strengths(snap: Snapshot, at: float | None = None) -> StaffEdges:
    """Staff–customer strengths as of ``at`` (default: the snapshot's now), from interactions before it."""
    at = snap.now if at is None else at
    mask = (snap.i_staff >= 0) & (snap.i_direction != INTERNAL) & (snap.i_at <= at)
    staff, cust, direction = snap.i_staff[mask], snap.i_customer[mask], snap.i_direction[mask]
    age_days = np.maximum(0.0, (at - snap.i_at[mask]) / DAY)
    w = KIND_WEIGHT[snap.i_kind[mask]] * np.exp2(-age_days / HALF_LIFE_DAYS)
    n_staff = max(1, len(snap.staff_ids))
    pair = cust.astype(np.int64) * n_staff + staff
    keys, inverse = np.unique(pair, return_inverse=True)
    both_ways = np.isin(snap.i_kind[mask], CONVERSATION_KINDS)
    out_w = np.where(both_ways, w / 2, np.where(direction == OUTBOUND, w, 0.0))
    in_w = np.where(both_ways, w / 2, np.where(direction == INBOUND, w, 0.0))
    out = np.bincount(inverse, weights=out_w, minlength=len(keys))
    inn = np.bincount(inverse, weights=in_w, minlength=len(keys))
    count = np.bincount(inverse, minlength=len(keys))
    last = np.full(len(keys), -np.inf)
    np.maximum.at(last, inverse, snap.i_at[mask])
    return StaffEdges(staff=(keys % n_staff).astype(np.int32), customer=(keys // n_staff).astype(np.int32),
                      strength=strength_formula(out, inn), outbound=out, inbound=inn, last_at=last, count=count)


@dataclass
class RelationGraph:
    """The account graph as CSR arrays plus the staff edges: small to cache, quick to search."""

    customer_ids: np.ndarray
    company_ids: np.ndarray
    staff_ids: np.ndarray
    adjacency: sparse.csr_matrix  # symmetric, strengths
    edge_kind: sparse.csr_matrix  # same pattern, index into REL_KINDS (+1, so membership is 1)
    staff_edges: StaffEdges
    community: np.ndarray | None = None  # per account node
    pagerank: np.ndarray | None = None
    betweenness: np.ndarray | None = None
    _cost: sparse.csr_matrix | None = field(default=None, repr=False)
    _by_customer: tuple | None = field(default=None, repr=False)  # staff edges' customers sorted, and the order

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_nodes(self) -> int:
        return len(self.customer_ids) + len(self.company_ids)

    def staff_rows(self, positions: np.ndarray) -> np.ndarray:
        """Rows of ``staff_edges`` whose customer is at one of ``positions``, ascending. The job writes
        them sorted by customer, so each customer's rows are found by binary search."""
        customers = self.staff_edges.customer
        if self._by_customer is None:
            ordered = len(customers) < 2 or bool(np.all(customers[1:] >= customers[:-1]))
            order = None if ordered else np.argsort(customers, kind="stable")
            self._by_customer = (customers if ordered else customers[order], order)
        keys, order = self._by_customer
        positions = np.asarray(positions, dtype=keys.dtype if len(keys) else np.int64)
        lo, hi = np.searchsorted(keys, positions, "left"), np.searchsorted(keys, positions, "right")
        counts = hi - lo
        if not counts.sum():
            return np.zeros(0, dtype=np.int64)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        rows = starts + np.arange(counts.sum())
        return np.sort(rows if order is None else order[rows])

    def customer_position(self, customer_id: int) -> int | None:
        i = int(np.searchsorted(self.customer_ids, customer_id))
        return i if i < len(self.customer_ids) and self.customer_ids[i] == customer_id else None

    def node_label(self, node: int) -> tuple[str, int]:
        """("customer"|"company", id) of an account node."""
        if node < self.n_customers:
            return "customer", int(self.customer_ids[node])
        return "company", int(self.company_ids[node - self.n_customers])

    @property
    def cost(self) -> sparse.csr_matrix:
        if self._cost is None:
            c = self.adjacency.copy().astype(np.float64)
            c.data = -np.log(np.clip(c.data, 1e-6, 1.0)) + HOP_PENALTY
            self._cost = c
        return self._cost

    # -- persistence (one npz blob) --
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        se = self.staff_edges
        extra = {}
        for name in ("community", "pagerank", "betweenness"):
            value = getattr(self, name)
            if value is not None:
                extra[name] = value
        np.savez(buf, customer_ids=self.customer_ids, company_ids=self.company_ids, staff_ids=self.staff_ids,
                 indptr=self.adjacency.indptr, indices=self.adjacency.indices,
                 data=self.adjacency.data.astype(np.float32), kind=self.edge_kind.data.astype(np.int8),
                 se_staff=se.staff, se_customer=se.customer, se_strength=se.strength.astype(np.float32),
                 se_out=se.outbound.astype(np.float32), se_in=se.inbound.astype(np.float32), se_last=se.last_at,
                 se_count=se.count.astype(np.int32), **extra)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> "RelationGraph":
        z = np.load(io.BytesIO(payload))
        n = len(z["customer_ids"]) + len(z["company_ids"])
        adjacency = sparse.csr_matrix((z["data"].astype(np.float64), z["indices"], z["indptr"]), shape=(n, n))
        kind = sparse.csr_matrix((z["kind"], z["indices"], z["indptr"]), shape=(n, n))
        se = StaffEdges(staff=z["se_staff"], customer=z["se_customer"], strength=z["se_strength"].astype(np.float64),
                        outbound=z["se_out"], inbound=z["se_in"], last_at=z["se_last"], count=z["se_count"])
        return cls(z["customer_ids"], z["company_ids"], z["staff_ids"], adjacency, kind, se,
                   community=z["community"] if "community" in z else None,
                   pagerank=z["pagerank"] if "pagerank" in z else None,
                   betweenness=z["betweenness"] if "betweenness" in z else None)

    def to_networkx(self, nodes: np.ndarray | None = None):
        """A networkx view (of some account nodes, or all): for pictures and small checks."""
        import networkx as nx

        sub = self.adjacency if nodes is None else self.adjacency[nodes][:, nodes]
        kinds = self.edge_kind if nodes is None else self.edge_kind[nodes][:, nodes]
        names = np.arange(self.n_nodes) if nodes is None else np.asarray(nodes)
        g = nx.Graph()
        for i in names:
            kind, ident = self.node_label(int(i))
            g.add_node(int(i), kind=kind, id=ident)
        coo, kcoo = sparse.triu(sub).tocoo(), sparse.triu(kinds).tocoo()
        for a, b, w, k in zip(coo.row, coo.col, coo.data, kcoo.data):
            g.add_edge(int(names[a]), int(names[b]), strength=float(w), kind=REL_KINDS[int(k) - 1])
        return g


def build_graph(snap: Snapshot, staff_edges: StaffEdges | None = None) -> RelationGraph:
    """Merge relationships (strongest kind wins per pair, direction ignored) and memberships."""
    n_c, n = snap.n_customers, snap.n_customers + len(snap.company_ids)
    has_company = snap.company_of >= 0
    members = np.nonzero(has_company)[0]
    a = np.concatenate([snap.rel_a, members]).astype(np.int64)
    b = np.concatenate([snap.rel_b, n_c + snap.company_of[has_company]]).astype(np.int64)
    w = np.concatenate([np.clip(snap.rel_strength, STRENGTH_FLOOR, 1.0), np.full(len(members), MEMBERSHIP_STRENGTH)])
    k = np.concatenate([snap.rel_kind, np.zeros(len(members), dtype=np.int8)]).astype(np.int64) + 1
    keep = a != b
    a, b, w, k = a[keep], b[keep], w[keep], k[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # strongest edge per unordered pair: sort by pair then strength, keep the last of each pair
    order = np.lexsort((w, hi, lo))
    lo, hi, w, k = lo[order], hi[order], w[order], k[order]
    last = np.ones(len(lo), dtype=bool)
    if len(lo):
        last[:-1] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, w, k = lo[last], hi[last], w[last], k[last]
    rows, cols = np.concatenate([lo, hi]), np.concatenate([hi, lo])
    adjacency = sparse.csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=(n, n))
    kinds = sparse.csr_matrix((np.concatenate([k, k]).astype(np.int8), (rows, cols)), shape=(n, n))
    adjacency.sort_indices()
    kinds.sort_indices()
    return RelationGraph(snap.customer_ids, snap.company_ids, snap.staff_ids, adjacency, kinds,
                         staff_edges if staff_edges is not None else staff_strengths(snap))


MAX_HOPS = 3  # default longest chain, counting the colleague's own first contact (INTRO_MAX_HOPS)


@dataclass
class WarmPath:
    staff_id: int
    strength: float  # product of the hops
    nodes: list[int]  # account nodes from the staff member's first contact to the target
    hops: list[float]  # strengths: staff->first node, then node->node
    weak: bool = False  # weaker than the floor: worth knowing, but not a warm introduction


def _ball(adjacency: sparse.csr_matrix, start: int, radius: int) -> np.ndarray:
    """Account nodes within ``radius`` hops of ``start``, sorted."""
    seen = np.array([start], dtype=np.int64)
    frontier = seen
    for _ in range(radius):
        if len(frontier) == 0:
            break
        reached = np.unique(adjacency[frontier].indices)
        frontier = np.setdiff1d(reached, seen, assume_unique=True)
        seen = np.union1d(seen, frontier)
    return seen


def _induced(matrix: sparse.csr_matrix, nodes: np.ndarray) -> sparse.coo_matrix:
    """The submatrix on ``nodes`` (sorted), renumbered 0..len-1: as ``matrix[nodes][:, nodes]`` but
    without scipy's column step, which allocates arrays as long as the whole graph (1.25M nodes at 1M)."""
    rows = matrix[nodes]
    counts = np.diff(rows.indptr)
    row = np.repeat(np.arange(len(nodes)), counts)
    col = np.searchsorted(nodes, rows.indices)
    inside = col < len(nodes)
    inside[inside] = nodes[col[inside]] == rows.indices[inside]
    return sparse.coo_matrix((rows.data[inside], (row[inside], col[inside])), shape=(len(nodes), len(nodes)))


def _hop_limited_costs(cost: sparse.csr_matrix, target: int, edges: int):
    """Cheapest cost from ``target`` to every node using at most ``edges`` account edges
    (Bellman-Ford by levels on the ball around the target); with the parents to walk back."""
    ball = _ball(cost, target, edges)
    local = _induced(cost, ball)
    dist = np.full(len(ball), np.inf)
    dist[np.searchsorted(ball, target)] = 0.0
    parents = []
    for _ in range(edges):
        cand = dist[local.row] + local.data
        ok = np.isfinite(cand)
        rows, cols, cand = local.row[ok], local.col[ok], cand[ok]
        order = np.lexsort((cand, cols))
        first = np.ones(len(order), dtype=bool)
        first[1:] = cols[order][1:] != cols[order][:-1]
        best_cols, best_rows, best = cols[order][first], rows[order][first], cand[order][first]
        better = best < dist[best_cols] - 1e-15
        parent = np.full(len(ball), -1, dtype=np.int64)
        parent[best_cols[better]] = best_rows[better]
        dist = dist.copy()
        dist[best_cols[better]] = best[better]
        parents.append(parent)
    return ball, dist, parents


def warm_paths(graph: RelationGraph, target_customer_id: int, *, limit: int = 5, floor: float = WARM_FLOOR,
               max_hops: int = MAX_HOPS) -> list[WarmPath]:
    """The strongest path of at most ``max_hops`` hops from each staff member to the customer, best first.

    Hops count the colleague's own first contact, so ``max_hops=3`` is colleague -> contact ->
    someone they know -> the customer. Paths run through customers and companies only: a colleague
    is a starting point, never a hop. Paths weaker than ``floor`` are returned marked ``weak``.
    """
    target = graph.customer_position(target_customer_id)
    if target is None or max_hops < 1:
        return []
    ball, dist, parents = _hop_limited_costs(graph.cost, target, max_hops - 1)
    se = graph.staff_edges
    # only the staff edges of customers in the ball: at 1,000,000 customers there are ~1.5M staff
    # edges and a ball of a few hundred nodes, so arithmetic over all of them was most of the time
    rows = graph.staff_rows(ball[ball < graph.n_customers])
    rows = rows[se.strength[rows] > 0]
    pos = np.searchsorted(ball, se.customer[rows])  # each row's customer, as a place in the ball
    total = dist[pos] - np.log(np.clip(se.strength[rows], 1e-9, 1.0))
    keep = np.isfinite(total)
    rows, pos, total = rows[keep], pos[keep], total[keep]
    if not len(rows):
        return []
    order = np.lexsort((total, se.staff[rows]))
    rows, pos, total = rows[order], pos[order], total[order]
    first_of_staff = np.ones(len(rows), dtype=bool)
    first_of_staff[1:] = se.staff[rows][1:] != se.staff[rows][:-1]
    best = np.nonzero(first_of_staff)[0]
    best = best[np.argsort(total[best], kind="stable")][:limit]
    paths = []
    for k in best:
        row = rows[k]
        local, level, nodes = int(pos[k]), len(parents), []
        nodes.append(int(ball[local]))
        while level > 0:
            parent = int(parents[level - 1][local])
            level -= 1
            if parent >= 0:
                local = parent
                nodes.append(int(ball[local]))
        hops = [float(se.strength[row])] + [float(graph.adjacency[x, y]) for x, y in zip(nodes, nodes[1:])]
        strength = float(np.prod(hops))
        paths.append(WarmPath(int(graph.staff_ids[se.staff[row]]), strength, nodes, hops, weak=strength < floor))
    return paths


def staff_strength(graph: RelationGraph, staff_id: int, customer_id: int) -> float:
    """The staff member's own relationship strength with the customer (0 when they never talked)."""
    position = graph.customer_position(customer_id)
    staff = np.flatnonzero(graph.staff_ids == staff_id)
    if position is None or len(staff) == 0:
        return 0.0
    se = graph.staff_edges
    rows = graph.staff_rows(np.array([position]))
    hit = rows[se.staff[rows] == staff[0]]
    return float(se.strength[hit[0]]) if len(hit) else 0.0


def neighbourhood(graph: RelationGraph, customer_position: int, *, max_nodes: int = 30) -> np.ndarray:
    """The customer and its strongest neighbours out to two hops, at most ``max_nodes`` account nodes."""
    row = graph.adjacency.getrow(customer_position)
    first = row.indices[np.argsort(-row.data)][: max_nodes // 2]
    chosen = [customer_position, *[int(x) for x in first]]
    seen = set(chosen)
    candidates = []
    for node in first:
        r = graph.adjacency.getrow(int(node))
        for x, w in zip(r.indices, r.data):
            if int(x) not in seen:
                candidates.append((w * graph.adjacency[customer_position, node], int(x)))
    for _, x in sorted(candidates, reverse=True):
        if len(chosen) >= max_nodes:
            break
        if x not in seen:
            seen.add(x)
            chosen.append(x)
    return np.array(chosen, dtype=np.int64)
