"""`/crm similar`: the customers most like one, with reasons."""
from __future__ import annotations

import pytest



def test_similar_customers_come_with_reasons(chat, team, book):
    reply = chat.push("/crm similar globex n=3", as_="alice")
    assert not reply.error, reply.plain_text()
    first = reply.items[0].text
    assert first.startswith("Li Na")  # both about warehouse scanners, both quiet for weeks
    assert "warehouse" in first and "both quiet for 30+ days" in first


@pytest.mark.parametrize("line,expected", [("/crm similar", "Which customer?"),
                                           ("/crm similar globex n=abc", "n= is how many"),
                                           ("/crm similar globex n=99", "n= is how many"),
                                           ("/crm similar nobodyxyz", "No customer matches")])
def test_similar_bad_input_is_explained(chat, team, line, expected):
    reply = chat.push(line, as_="alice")
    assert reply.error and expected in reply.text


def test_similar_answers_on_a_store_without_insight_history(chat, team):
    reply = chat.push("/crm similar globex", as_="maria")
    assert not reply.error, reply.plain_text()
    # four customers nobody has talked to: the only vip behaves opposite to the other three (behaviour
    # cosine -1), which is no likeness; it listed them at -0.50 as "most like" it
    assert reply.text == "No other customer is similar enough to Globex Corporation yet.", reply.plain_text()
    assert {i.text.split(" (")[0] for i in reply.items} <= {"Initech", "王伟", "Li Na"}
