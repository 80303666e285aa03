"""`/crm insights`: key connectors, brokers and clusters from the nightly job."""
from __future__ import annotations


def test_insights_command_lists_connectors_and_clusters(chat, team, two_cliques):
    text = chat.push("/crm insights", as_="alice").plain_text()
    assert "Key connectors" in text
    first = text.split("Key connectors", 1)[1].strip().splitlines()[0]
    assert "Bridge Broker" in first
    assert "Clusters of related accounts" in text


def test_insights_on_a_small_store_are_computed_on_the_spot_and_say_how(chat, team):
    reply = chat.push("/crm insights", as_="maria")
    assert not reply.error
    # no links between customers yet: nobody is a connector (betweenness 0 is no rank), but it says how risk is judged
    assert reply.text.startswith("Nothing stands out in the relationship graph yet") and "risk by heuristic" in reply.text
