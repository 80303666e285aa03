"""/crm intro: at most INTRO_MAX_HOPS hops, your own customers, weak paths shown as weak."""
from __future__ import annotations

import pytest

from crm.insights.graph import build_graph, warm_paths
from crm.insights.snapshot import load_snapshot
from tests.helpers import say
from tests.insights_support import NOW, customer, relate, talk

pytestmark = pytest.mark.filterwarnings("ignore")


def _graph(db):
    with db.engine.connect() as conn:
        return build_graph(load_snapshot(conn, NOW))


@pytest.fixture
def long_chain(db, team):
    """Alice talks with Li Na; Li Na -> C1 -> C2 -> C3 -> C4 -> Far End, strong links all the way."""
    with db.session() as s:
        chain = [customer(s, f"Chain {i}") for i in range(1, 5)]
        far = customer(s, "Far End")
        talk(s, team.alice, team.li, days_ago=2, times=3)
        for a, b in zip([team.li, *chain], [*chain, far]):
            relate(s, a, b, "works-with", 0.95)
    return {"chain": chain, "far": far}


def test_paths_longer_than_three_hops_are_not_proposed(db, team, long_chain):
    g = _graph(db)
    near = long_chain["chain"][1]  # Alice -> Li -> C1 -> C2: three hops
    alice = [p for p in warm_paths(g, near) if p.staff_id == team.alice]
    assert len(alice) == 1 and len(alice[0].hops) == 3
    assert not [p for p in warm_paths(g, long_chain["far"]) if p.staff_id == team.alice]
    # the limit is a setting: with six hops allowed the far end is reachable
    six = [p for p in warm_paths(g, long_chain["far"], max_hops=6) if p.staff_id == team.alice]
    assert len(six) == 1 and len(six[0].hops) == 6


def test_the_hop_limit_picks_the_strongest_short_path_not_the_strongest_long_one(db, team):
    with db.session() as s:
        target = customer(s, "Target")
        a, b, c = (customer(s, n) for n in ("Strong A", "Strong B", "Weak C"))
        talk(s, team.alice, team.li, days_ago=1, times=3)
        relate(s, team.li, a, "works-with", 1.0)
        relate(s, a, b, "works-with", 1.0)
        relate(s, b, target, "works-with", 1.0)  # 4 hops, strong
        relate(s, team.li, c, "knows", 0.3)
        relate(s, c, target, "knows", 0.3)  # 3 hops, weaker
    g = _graph(db)
    best = next(p for p in warm_paths(g, target) if p.staff_id == team.alice)
    assert len(best.hops) == 3 and best.hops[1:] == pytest.approx([0.3, 0.3])
    longer = next(p for p in warm_paths(g, target, max_hops=4) if p.staff_id == team.alice)
    assert len(longer.hops) == 4 and longer.strength > best.strength


def test_intro_to_your_own_customer_says_you_already_know_them(engine, team):
    with engine.db.session() as s:
        mine = customer(s, "My Own Client", owner=team.alice)
        talk(s, team.alice, mine, days_ago=1, times=3, text="quarterly review")
    reply = say(engine, "UALICE", f"/crm intro #{mine}")
    text = reply.plain_text()
    assert not reply.error, text
    assert "you already know them" in text and "relationship strength 0.9" in text and "quarterly review" in text
    assert "Warmer via" not in text


def test_a_weak_path_is_shown_as_weak_not_denied(engine, team):
    with engine.db.session() as s:
        target = customer(s, "Faint Prospect")
        middle = customer(s, "Loose Contact")
        talk(s, team.alice, team.li, days_ago=1, times=3)
        relate(s, team.li, middle, "knows", 0.05)
        relate(s, middle, target, "knows", 0.05)  # about 0.9 * 0.05 * 0.05 = 0.002 < 0.01
    reply = say(engine, "UALICE", f"/crm intro #{target}")
    text = reply.plain_text()
    assert not reply.error, text
    assert "Only a weak path from you to Faint Prospect" in text and "below 0.01" in text
    assert "Li Na" in text and "Loose Contact" in text
    assert "No warm path" not in text


def test_the_hop_limit_is_configurable(engine, team, long_chain, monkeypatch):
    text = say(engine, "UALICE", f"/crm intro #{long_chain['far']}").plain_text()
    assert "within 3 hops" in text
    monkeypatch.setattr(engine.settings, "intro_max_hops", 6)
    text = say(engine, "UALICE", f"/crm intro #{long_chain['far']}").plain_text()
    assert "Warmest path from you to Far End" in text and "over 6 hops" in text


def test_warm_paths_read_only_the_staff_edges_around_the_target_sorted_or_not(db, team, long_chain):
    """warm_paths looks up the staff edges of the customers near the target by binary search (the job
    stores them sorted by customer); a graph whose edges are not sorted gives the same paths."""
    import dataclasses

    import numpy as np

    graph = _graph(db)
    sorted_paths = warm_paths(graph, long_chain["chain"][1], limit=4, max_hops=3)
    assert sorted_paths and sorted_paths[0].staff_id == team.alice
    se = graph.staff_edges
    shuffled = np.random.default_rng(1).permutation(len(se.customer))
    mixed = dataclasses.replace(graph, staff_edges=dataclasses.replace(
        se, **{f.name: getattr(se, f.name)[shuffled] for f in dataclasses.fields(se)}), _by_customer=None)
    assert [(p.staff_id, p.nodes, p.hops) for p in warm_paths(mixed, long_chain["chain"][1], limit=4, max_hops=3)] \
        == [(p.staff_id, p.nodes, p.hops) for p in sorted_paths]
    li = graph.customer_position(team.li)
    rows = mixed.staff_rows(np.array([li]))
    assert len(rows) == int((se.customer == li).sum()) >= 1
    assert set(mixed.staff_edges.customer[rows].tolist()) == {li}
