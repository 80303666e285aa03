"""Graph insights on real graphs shipped with networkx, with their published answers, and on LFR
benchmark graphs with planted communities. Nothing here is tuned to these graphs: the same code
runs on every store."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from sklearn.metrics import normalized_mutual_info_score

from crm.insights import centrality


def _adjacency(g: nx.Graph, nodes: list, weight: str | None = None) -> sparse.csr_matrix:
    return sparse.csr_matrix(nx.to_scipy_sparse_array(g, nodelist=nodes, weight=weight, format="csr").astype(float))


def _ordered(values: np.ndarray, nodes: list, top: int) -> list:
    return [nodes[i] for i in np.argsort(-values, kind="stable")[:top]]


REAL = {
    "karate": nx.karate_club_graph,
    "les_miserables": nx.les_miserables_graph,
    "florentine": nx.florentine_families_graph,
    "davis": nx.davis_southern_women_graph,
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_betweenness_and_pagerank_equal_networkx_on_real_graphs(name):
    g = REAL[name]()
    nodes = list(g)
    weight = "weight" if name in ("karate", "les_miserables") else None
    between = centrality.betweenness(_adjacency(g, nodes))
    expected = nx.betweenness_centrality(g)
    assert np.abs(between - np.array([expected[v] for v in nodes])).max() < 1e-9
    pr = centrality.pagerank(_adjacency(g, nodes, weight))
    expected = nx.pagerank(g, weight=weight, tol=1e-10, max_iter=10_000)
    assert np.abs(pr - np.array([expected[v] for v in nodes])).max() < 1e-6


def test_published_connectors_come_first():
    karate = nx.karate_club_graph()
    nodes = list(karate)
    # Zachary's karate club: the instructor (0) and the president (33) broker the club
    assert _ordered(centrality.betweenness(_adjacency(karate, nodes)), nodes, 5) == [0, 33, 32, 2, 31]
    assert _ordered(centrality.pagerank(_adjacency(karate, nodes)), nodes, 3) == [33, 0, 32]
    lesmis = nx.les_miserables_graph()
    nodes = list(lesmis)
    assert _ordered(centrality.betweenness(_adjacency(lesmis, nodes)), nodes, 2) == ["Valjean", "Myriel"]
    assert _ordered(centrality.pagerank(_adjacency(lesmis, nodes, "weight")), nodes, 1) == ["Valjean"]
    florentine = nx.florentine_families_graph()
    nodes = list(florentine)
    assert _ordered(centrality.betweenness(_adjacency(florentine, nodes)), nodes, 3) == \
        ["Medici", "Guadagni", "Albizzi"]
    assert _ordered(centrality.pagerank(_adjacency(florentine, nodes)), nodes, 1) == ["Medici"]


@pytest.mark.parametrize("name", sorted(REAL))
def test_communities_are_as_good_as_networkx_louvain_and_never_lose_modularity(name):
    g = REAL[name]()
    nodes = list(g)
    weight = "weight" if name in ("karate", "les_miserables") else None
    found = centrality.detect_communities(_adjacency(g, nodes, weight))
    assert all(b >= a - 1e-12 for a, b in zip(found.modularity, found.modularity[1:]))
    ours = nx.community.modularity(g, [{nodes[i] for i in np.flatnonzero(found.labels == c)}
                                       for c in np.unique(found.labels)], weight=weight)
    assert ours == pytest.approx(found.modularity[-1], abs=1e-9)
    best_louvain = max(nx.community.modularity(g, nx.community.louvain_communities(g, weight=weight, seed=s),
                                               weight=weight) for s in range(5))
    assert ours >= best_louvain - 0.01
    # communities are numbered largest first
    sizes = np.bincount(found.labels)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_karate_communities_respect_the_split_of_the_club():
    g = nx.karate_club_graph()
    nodes = list(g)
    labels = centrality.communities(_adjacency(g, nodes, "weight"))
    assert 3 <= len(np.unique(labels)) <= 5  # the published modularity optimum has 4
    faction = np.array([g.nodes[v]["club"] == "Officer" for v in nodes])
    purity = sum(max(faction[labels == c].sum(), (~faction[labels == c]).sum()) for c in np.unique(labels))
    assert purity >= 32  # at most two members grouped against their faction


def test_davis_southern_women_split_into_the_two_published_groups():
    g = nx.davis_southern_women_graph()
    nodes = list(g)
    labels = centrality.communities(_adjacency(g, nodes))
    women = [i for i, v in enumerate(nodes) if g.nodes[v]["bipartite"] == 0]
    # Davis et al.: Evelyn's circle and Nora's circle (Pearl, Olivia and Flora sit between them)
    assert labels[nodes.index("Evelyn Jefferson")] != labels[nodes.index("Nora Fayette")]
    assert labels[nodes.index("Evelyn Jefferson")] == labels[nodes.index("Laura Mandeville")]
    assert labels[nodes.index("Nora Fayette")] == labels[nodes.index("Sylvia Avondale")]
    assert 2 <= len(np.unique(labels[women])) <= 4


def _lfr(n: int, mu: float, seed: int):
    g = nx.LFR_benchmark_graph(n, tau1=2.5, tau2=1.5, mu=mu, average_degree=10, max_degree=60, min_community=20,
                               max_community=200, seed=seed)
    planted = {}
    labels = np.array([planted.setdefault(frozenset(g.nodes[v]["community"]), len(planted)) for v in range(n)])
    return g, labels


@pytest.mark.parametrize("seed", [3, 11])
def test_lfr_planted_communities_are_recovered(seed):
    import igraph as ig

    g, planted = _lfr(3_000, 0.3, seed)
    a = _adjacency(g, list(range(len(planted))))
    found = centrality.detect_communities(a)
    nmi = normalized_mutual_info_score(planted, found.labels)
    assert nmi >= 0.88
    assert all(b >= a - 1e-12 for a, b in zip(found.modularity, found.modularity[1:]))
    with centrality.seeded(1):
        multilevel = centrality.to_igraph(a).community_multilevel(weights="weight").membership
    assert nmi >= normalized_mutual_info_score(planted, multilevel) - 0.01
    assert isinstance(ig.Graph, type)


def test_competition_ranks_share_ties_and_skip():
    ranks = centrality.competition_rank(np.array([0.5, 0.9, 0.5, 0.1, 0.9 + 1e-17]))
    assert ranks.tolist() == [3, 1, 3, 5, 1]


def test_sampled_betweenness_ignores_unlinked_nodes_and_positions():
    g = nx.connected_watts_strogatz_graph(400, 6, 0.1, seed=2)
    a = _adjacency(g, list(range(400)))
    keys = np.arange(400) * 7 + 1000
    base = centrality.betweenness(a, k=60, keys=keys)
    # one unlinked node inserted in the middle: positions shift, its key is new
    pad = sparse.bmat([[a[:200, :200], None, a[:200, 200:]], [None, sparse.csr_matrix((1, 1)), None],
                       [a[200:, :200], None, a[200:, 200:]]]).tocsr()
    padded = centrality.betweenness(pad, k=60, keys=np.insert(keys, 200, 5))
    assert np.delete(padded, 200) / padded.max() == pytest.approx(base / base.max(), abs=1e-12)
    assert centrality.betweenness(a, k=60, keys=keys).tolist() == base.tolist()  # two runs agree
