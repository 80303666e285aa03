"""`/crm intro`: the warmest path to a customer, hop by hop, from you or a colleague."""
from __future__ import annotations



def test_intro_command_shows_each_hop_with_its_strength_and_last_interaction(chat, team, chain):
    reply = chat.push(f"/crm intro #{chain['target']}", as_="alice")
    text = reply.plain_text()
    assert not reply.error, text
    assert "Warmest path from you to Target Buyer" in text
    assert "You → Li Na" in text and "renewal call with Li" in text
    assert "Li Na (#%d) → Hub Person" % team.li in text and "0.90" in text
    assert "Hub Person (#%d) → Target Buyer" % chain["hub"] in text and "referred" in text


def test_intro_from_a_colleague_and_when_there_is_no_path(chat, team, chain):
    text = chat.push(f"/crm intro #{chain['target']} from=@bob", as_="alice").plain_text()
    assert "Bob Rep already knows them" in text  # Bob owns Target Buyer: no introduction needed
    text = chat.push("/crm intro 王伟", as_="alice").plain_text()
    assert "No warm path to 王伟" in text  # Alice's language is English, whatever script she types


def test_intro_without_a_customer_explains_itself(chat, team):
    reply = chat.push("/crm intro", as_="alice")
    assert reply.error and "intro globex" in reply.text


def test_intro_without_any_relationship_says_there_is_no_warm_path(chat, team):
    reply = chat.push("/crm intro globex", as_="maria")
    assert not reply.error
    assert "No warm path to Globex Corporation" in reply.text and f"/crm log #{team.globex}" in reply.text
