"""The seeder's account graph without the store: the same shape as ``crm/seed.py`` in numpy, in seconds.

One graph for two users: ``crm/seed_bulk.py`` writes it into a store (so a bulk-seeded store and the
benchmarks' graph are the same graph) and ``bench/bench_betweenness.py`` measures it directly when no
seeded store exists. Same generator shape as ``crm.seed.seed``: contiguous planted
clusters of ~150 customers, ``relationships_per_customer`` draws per customer of which 92% stay inside
the cluster, one connector per 1,000 customers with links anywhere, heavy-tailed like the seeder's
(``crm.seed.connector_links``: Zipf's law, 40 x n / r links for the r-th), a company per 4 customers (each
customer a member of a company of its own cluster). Unweighted (betweenness is by hops). The seeded
store's own graph is used whenever it exists (bench/bench_betweenness.py says which it used).
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

# one shape for both seeders: cluster size, inside share and connector links are crm/seed.py's
from crm.seed import CLUSTER_SIZE, INSIDE_CLUSTER, connector_links


def cluster_count(customers: int) -> int:
    return max(2, round(customers / CLUSTER_SIZE))


def company_clusters(customers: int, n_companies: int) -> np.ndarray:
    """The planted cluster of each company (companies are handed out to clusters in order)."""
    n_clusters = cluster_count(customers)
    return np.minimum(n_clusters - 1, np.arange(n_companies) * n_clusters // n_companies)


def seeder_shaped_graph(customers: int, relationships_per_customer: float = 5.0, seed: int = 42
                        ) -> tuple[sparse.csr_matrix, np.ndarray]:
    """(symmetric adjacency, node keys): customers ``0..C-1`` then companies, keys like the job's node_keys."""
    rng = np.random.default_rng(seed)
    n_clusters = cluster_count(customers)
    bounds = np.sort(rng.choice(np.arange(1, customers), n_clusters - 1, replace=False))
    start, end = np.r_[0, bounds], np.r_[bounds, customers]
    cluster = np.repeat(np.arange(n_clusters), end - start)
    draws = int(customers * relationships_per_customer)
    a = rng.integers(0, customers, draws)
    k = cluster[a]
    inside = start[k] + (rng.random(draws) * (end[k] - start[k])).astype(np.int64)
    b = np.where(rng.random(draws) < INSIDE_CLUSTER, inside, rng.integers(0, customers, draws))
    connectors = rng.choice(customers, max(3, customers // 1000), replace=False)
    links = np.asarray(connector_links(len(connectors)), dtype=np.int64)
    a = np.r_[a, np.repeat(connectors, links)]
    b = np.r_[b, rng.integers(0, customers, int(links.sum()))]
    n_companies = max(5, customers // 4)
    company_cluster = company_clusters(customers, n_companies)
    first = np.searchsorted(company_cluster, np.arange(n_clusters))
    count = np.searchsorted(company_cluster, np.arange(n_clusters), side="right") - first
    own = count[cluster] > 0
    company = np.where(own, first[cluster] + (rng.random(customers) * np.maximum(count[cluster], 1)).astype(np.int64),
                       rng.integers(0, n_companies, customers))
    a = np.r_[a, np.arange(customers)]
    b = np.r_[b, customers + company]
    keep = a != b
    a, b = a[keep], b[keep]
    n = customers + n_companies
    adjacency = sparse.csr_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    adjacency.data[:] = 1.0
    keys = np.r_[np.arange(1, customers + 1, dtype=np.int64) * 2, np.arange(1, n_companies + 1, dtype=np.int64) * 2 + 1]
    return adjacency, keys
