"""Small stores: insights recomputed when stale (changed since the last run, or older than an hour)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.insights import read, store
from tests.helpers import say
from tests.insights_support import customer, relate


@pytest.fixture
def two_groups(db, team):
    with db.session() as s:
        left = [customer(s, f"Left {i}") for i in range(4)]
        right = [customer(s, f"Right {i}") for i in range(4)]
        for group in (left, right):
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    relate(s, a, b, "works-with", 0.9)
    return left, right


def _computed_at(db):
    with db.session() as s:
        return store.computed_at(s)


def test_a_link_added_today_changes_the_insights_without_the_nightly_job(engine, db, team, two_groups):
    left, right = two_groups
    first = say(engine, "UALICE", "/crm insights").plain_text()
    assert "New Bridge" not in first
    with db.session() as s:
        bridge = customer(s, "New Bridge")
        relate(s, bridge, left[0], "knows", 0.7)
        relate(s, bridge, right[0], "knows", 0.7)
    text = say(engine, "UALICE", "/crm insights").plain_text()
    connectors = text.split("Key connectors", 1)[1].strip().splitlines()
    assert "New Bridge" in connectors[0], text


def test_unchanged_store_is_not_recomputed_within_the_hour_but_is_after_it(engine, db, clock, team, two_groups):
    say(engine, "UALICE", "/crm insights")
    first = _computed_at(db)
    clock.now += timedelta(minutes=30)
    say(engine, "UALICE", "/crm insights")
    assert _computed_at(db) == first  # nothing changed, still fresh
    clock.now += timedelta(minutes=31)
    say(engine, "UALICE", "/crm insights")
    assert _computed_at(db) > first


def test_cluster_sizes_are_the_real_member_counts(engine, db, team, two_groups):
    say(engine, "UALICE", "/crm insights")
    with db.session() as s:
        clusters = read.clusters(s, 5)
    sizes = sorted(c.size for c in clusters)
    assert sizes[-2:] == [4, 4]
