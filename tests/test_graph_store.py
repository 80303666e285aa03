"""Real graphs loaded into a store and run through the insight job: the connectors a manager reads,
their ranks and words, and stability when an unlinked customer is added."""
from __future__ import annotations

import networkx as nx
import pytest

from crm.insights import centrality
from crm.insights import read
from crm.insights.job import refresh_insights
from tests.insights_support import NOW, customer, relate


def _load(db, g: nx.Graph) -> dict:
    with db.session() as s:
        ids = {v: customer(s, f"{v}" if isinstance(v, str) else f"Member {v}") for v in g}
        for a, b in g.edges():
            relate(s, ids[a], ids[b], "knows", 0.5)
    return ids


def _connectors(db, limit=20):
    refresh_insights(db, NOW)
    with db.session() as s:
        return read.key_connectors(s, limit), read.clusters(s, 20), read.brokers(s, 5)


def test_karate_club_connectors_in_published_order_with_plain_words(db):
    _load(db, nx.karate_club_graph())
    connectors, clusters, _ = _connectors(db)
    assert [c.name for c in connectors[:5]] == ["Member 0", "Member 33", "Member 32", "Member 2", "Member 31"]
    first = connectors[0]
    assert first.rank == 1 and first.of == 34
    assert "1st of 34 by betweenness" in first.why and "shortest routes between other accounts" in first.why
    assert "‱" not in first.why and "PageRank" in first.why and "× the average" in first.why
    assert "0.01%" not in first.why
    assert sum(c.size for c in clusters) == 34  # cluster sizes are the real member counts


def test_florentine_medici_first_of_fifteen_and_ties_share_a_rank(db):
    _load(db, nx.florentine_families_graph())
    connectors, _, _ = _connectors(db)
    assert connectors[0].name == "Medici" and "1st of 15" in connectors[0].why
    assert connectors[0].top_percent == pytest.approx(100 / 15, abs=0.01)
    # families with equal betweenness share a rank, and the next rank skips
    ranks = [c.rank for c in connectors]
    assert ranks == sorted(ranks)
    values = [c.betweenness for c in connectors]
    for a, b, ra, rb in zip(values, values[1:], ranks, ranks[1:]):
        assert (ra == rb) == (abs(a - b) < 1e-12)


def test_les_miserables_brokers_link_separate_groups(db):
    _load(db, nx.les_miserables_graph())
    connectors, _, brokers = _connectors(db)
    assert connectors[0].name == "Valjean"
    assert brokers and "links otherwise separate groups" in brokers[0].why


def test_an_unlinked_customer_changes_nothing_even_when_sampling(db, monkeypatch):
    """The sampled estimate (sampled shortest paths, forced here on a small graph, with a small work budget
    to stay quick) numbers nodes by the hash of their ids, not by position, and leaves unlinked customers out."""
    monkeypatch.setattr(centrality, "EXACT_WORK", 0)
    monkeypatch.setattr(centrality, "PATH_WORK", 5e6)
    g = nx.relabel_nodes(nx.connected_watts_strogatz_graph(150, 4, 0.15, seed=4), lambda v: f"Node {v:03d}")
    ids = _load(db, g)
    with db.session() as s:  # company nodes sit after every customer: a new customer shifts their positions
        staff = [customer(s, f"Acme {i}", company="Acme") for i in range(4)]
        for i, c in enumerate(staff):
            relate(s, c, ids[f"Node {i * 30:03d}"], "works-with", 0.7)
    before = [(c.customer_id, c.rank) for c in _connectors(db)[0]]
    again = [(c.customer_id, c.rank) for c in _connectors(db)[0]]
    assert again == before  # two runs agree
    with db.session() as s:
        loner = customer(s, "Unlinked Newcomer")
    after = [(c.customer_id, c.rank) for c in _connectors(db)[0]]
    assert after == before
    with db.session() as s:  # and removing one (forgotten customers leave the graph)
        from crm.models import Customer

        row = s.get(Customer, loner)
        row.forgotten_at = NOW
        s.add(row)
    assert [(c.customer_id, c.rank) for c in _connectors(db)[0]] == before
    assert len(before) == 20 and ids
