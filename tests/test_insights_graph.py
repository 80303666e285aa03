"""The relationship graph on hand-built stores with known answers, and the fast algorithms
checked against networkx."""
from __future__ import annotations

from datetime import timedelta

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from sklearn.metrics import normalized_mutual_info_score

from crm.insights import centrality
from crm.insights import read
from crm.insights.graph import ONE_WAY_CAP, build_graph, strength_formula, warm_paths
from crm.insights.job import refresh_insights
from crm.insights.snapshot import load_snapshot
from crm.models import Interaction
from tests.helpers import say
from tests.insights_support import NOW, customer, open_deal, talk


def _graph(db):
    with db.engine.connect() as conn:
        return build_graph(load_snapshot(conn, NOW))


# ---- the strength formula -------------------------------------------------------------------

def test_one_way_contact_is_weak_and_two_way_is_strong():
    one_way = strength_formula(np.array([6.0]), np.array([0.0]))[0]
    two_way = strength_formula(np.array([3.0]), np.array([3.0]))[0]
    assert one_way <= ONE_WAY_CAP
    assert two_way > 0.8
    assert strength_formula(np.array([0.3]), np.array([0.3]))[0] < two_way  # less (or older) contact: weaker


def test_recent_contact_outweighs_the_same_contact_long_ago(db, team):
    with db.session() as s:
        talk(s, team.alice, team.globex, days_ago=2, times=3)
        talk(s, team.bob, team.globex, days_ago=200, times=3)
    g = _graph(db)
    se = g.staff_edges
    by_staff = {int(g.staff_ids[st]): w for st, w in zip(se.staff, se.strength)}
    assert by_staff[team.alice] > 0.8
    assert by_staff[team.bob] < 0.05


def _strengths(db) -> dict[tuple[int, int], float]:
    g = _graph(db)
    se = g.staff_edges
    return {(int(g.staff_ids[st]), int(g.customer_ids[c])): w for st, c, w in zip(se.staff, se.customer, se.strength)}


def test_a_logged_call_or_meeting_is_a_conversation_an_unanswered_email_is_not(db, team):
    with db.session() as s:
        talk(s, team.alice, team.globex, days_ago=1, both_ways=False, kind="call", times=3)
        talk(s, team.alice, team.li, days_ago=1, both_ways=False, kind="meeting", times=3)
        talk(s, team.bob, team.initech, days_ago=1, both_ways=False, kind="email", times=3)
    w = _strengths(db)
    assert w[(team.alice, team.globex)] > 0.7 and w[(team.alice, team.li)] > 0.7
    assert w[(team.bob, team.initech)] <= ONE_WAY_CAP


def test_customer_messages_on_telegram_make_the_handlers_relationship_two_way(db, team):
    """Telegram messages are stored with no staff member: they count for the ticket's assignee,
    else for the customer's owner, so answering customers on Telegram builds relationships."""
    from crm.models import Ticket

    with db.session() as s:
        # Globex (owner Alice): Alice emails, the customer answers on Telegram, no ticket assignee
        talk(s, team.alice, team.globex, days_ago=1, both_ways=False, kind="email", times=3)
        for i in range(3):
            s.add(Interaction(customer_id=team.globex, staff_id=None, kind="message", direction="inbound",
                              channel="telegram", text="thanks!", occurred_at=NOW - timedelta(days=1, hours=i)))
        # Initech (owner Bob): the ticket is assigned to Alice, who answered from the Slack thread
        ticket = Ticket(customer_id=team.initech, assignee_id=team.alice, status="open", opened_at=NOW)
        s.add(ticket)
        s.flush()
        for i in range(3):
            s.add(Interaction(customer_id=team.initech, staff_id=None, kind="message", direction="inbound",
                              channel="telegram", text="where is my order", ticket_id=ticket.id,
                              occurred_at=NOW - timedelta(days=1, hours=i)))
            s.add(Interaction(customer_id=team.initech, staff_id=team.alice, kind="message", direction="outbound",
                              channel="telegram", text="on its way", ticket_id=ticket.id,
                              occurred_at=NOW - timedelta(days=1, hours=i, minutes=-5)))
    w = _strengths(db)
    assert w[(team.alice, team.globex)] > 0.7  # was one-way (≤ 0.25) before the replies counted
    assert w[(team.alice, team.initech)] > 0.7
    assert (team.bob, team.initech) not in w  # the owner did not handle this conversation


# ---- warm paths -------------------------------------------------------------------------------


def test_the_warm_path_is_found_hop_by_hop(db, team, chain):
    paths = warm_paths(_graph(db), chain["target"], limit=5)
    alice = next(p for p in paths if p.staff_id == team.alice)
    g = _graph(db)
    assert [g.node_label(n) for n in alice.nodes] == [("customer", team.li), ("customer", chain["hub"]),
                                                       ("customer", chain["target"])]
    assert alice.hops[1:] == pytest.approx([0.9, 0.8])
    assert alice.strength == pytest.approx(np.prod(alice.hops), rel=1e-3)
    bob = next(p for p in paths if p.staff_id == team.bob)
    assert bob.nodes == [g.customer_position(chain["target"])]  # direct, but one-way: weak
    assert bob.strength <= ONE_WAY_CAP < alice.strength


# ---- centralities and communities -----------------------------------------------------------

def test_betweenness_equals_networkx_and_sampling_is_scaled_like_it():
    g = nx.connected_watts_strogatz_graph(120, 4, 0.2, seed=3)
    a = sparse.csr_matrix(nx.to_scipy_sparse_array(g, weight=None, format="csr").astype(float))
    exact = nx.betweenness_centrality(g)
    ours = centrality.betweenness(a, k=None)
    assert np.abs(ours - np.array([exact[i] for i in g])).max() < 1e-6
    sampled = centrality.betweenness(a, sources=np.arange(30))
    reference = nx.betweenness_centrality_subset(g, sources=list(range(30)), targets=list(g), normalized=False)
    ref = np.array([reference[i] for i in g]) * 2 / (119 * 118) * 120 / 30
    assert np.abs(sampled - ref).max() < 1e-6


def test_pagerank_equals_networkx():
    g = nx.karate_club_graph()
    w = sparse.csr_matrix(nx.to_scipy_sparse_array(g, weight="weight", format="csr").astype(float))
    ref = nx.pagerank(g, weight="weight", tol=1e-10, max_iter=10_000)  # converged: igraph solves exactly
    assert np.abs(centrality.pagerank(w) - np.array([ref[i] for i in g])).max() < 1e-6


def test_communities_recover_a_planted_partition():
    g = nx.planted_partition_graph(8, 40, 0.3, 0.005, seed=5)
    a = sparse.csr_matrix(nx.to_scipy_sparse_array(g, weight=None, format="csr").astype(float))
    found = centrality.communities(a)
    planted = np.repeat(np.arange(8), 40)
    assert normalized_mutual_info_score(planted, found) > 0.9
    # and modularity is as good as networkx's Louvain gets on the same graph
    ours = nx.community.modularity(g, [set(np.nonzero(found == c)[0]) for c in np.unique(found)])
    theirs = nx.community.modularity(g, nx.community.louvain_communities(g, seed=1))
    assert ours >= theirs - 0.02


@pytest.mark.store
def test_the_broker_ranks_first(db, team, two_cliques):
    refresh_insights(db, NOW)
    with db.session() as s:
        connectors = read.key_connectors(s, 3)
        brokers = read.brokers(s, 3)
    assert connectors[0].name == "Bridge Broker"
    assert brokers[0].name == "Bridge Broker"
    assert brokers[0].clusters_linked >= 2


@pytest.mark.store
def test_single_threaded_account_is_flagged(db, team):
    with db.session() as s:
        a = customer(s, "Umbrella Buyer", company="Umbrella", owner=team.alice, tier="vip")
        customer(s, "Umbrella CFO", company="Umbrella", owner=team.alice)
        open_deal(s, a, team.alice, 100_000)
        talk(s, team.alice, a, days_ago=2, times=3)
        b = customer(s, "Hooli Buyer", company="Hooli", owner=team.bob, tier="vip")
        c = customer(s, "Hooli CTO", company="Hooli", owner=team.bob)
        open_deal(s, b, team.bob, 100_000)
        talk(s, team.bob, b, days_ago=2, times=3)
        talk(s, team.alice, c, days_ago=2, times=3)
    refresh_insights(db, NOW)
    with db.session() as s:
        flagged = {x.company: x for x in read.single_threaded_accounts(s, 10)}
    assert "Umbrella" in flagged and "Hooli" not in flagged
    umbrella = flagged["Umbrella"]
    assert umbrella.staff == "Alice Rep" and umbrella.customer == "Umbrella Buyer"
    assert "only through Alice Rep" in umbrella.why


@pytest.mark.store
def test_decaying_relationship_is_reported(db, team):
    with db.session() as s:
        talk(s, team.alice, team.globex, days_ago=120, times=6)  # strong three months ago, silent since
    refresh_insights(db, NOW)
    with db.session() as s:
        fading = read.decaying_relationships(s, 5, staff_id=team.alice)
    assert [f.customer for f in fading] == ["Globex Corporation"]
    assert fading[0].strength_then >= 0.35 and fading[0].strength_now <= fading[0].strength_then / 2


@pytest.mark.store
def test_sampled_connectors_say_how_good_the_estimate_is(db, team, two_cliques, engine, monkeypatch):
    """A large graph's connectors are estimated from sampled shortest paths (forced here on a small graph):
    they are stored and ranked like exact ones, and /crm insights says the numbers are estimates and how
    far off they may be, in the reader's language. (Before, above 300,000 linked accounts the job stored
    no connectors at all.)"""
    monkeypatch.setattr(centrality, "EXACT_WORK", 0)
    refresh_insights(db, NOW)
    with db.session() as s:
        status = read.status(s)
        assert status.connectors_error is not None and status.connectors_samples >= 4_000
        assert read.key_connectors(s, 1)[0].name == "Bridge Broker"
    text = say(engine, "UALICE", "/crm insights").plain_text()
    assert "Bridge Broker" in text
    assert f"estimated from {status.connectors_samples:,} sampled shortest routes" in text
    assert f"±{100 * status.connectors_error:.0f}%" in text


@pytest.mark.store
def test_exact_connectors_carry_no_estimate_note(db, team, two_cliques, engine):
    refresh_insights(db, NOW)
    with db.session() as s:
        assert read.status(s).connectors_error is None
    assert "sampled shortest routes" not in say(engine, "UALICE", "/crm insights").plain_text()


@pytest.mark.store
def test_connectors_are_ranked_at_any_size(db, team, two_cliques, monkeypatch):
    monkeypatch.setattr(centrality, "EXACT_WORK", 0)  # sampled, as at 100k customers and 1M
    refresh_insights(db, NOW)
    with db.session() as s:
        assert read.key_connectors(s, 1)[0].name == "Bridge Broker"
