"""`/crm find`: ranked search over names, companies and emails (Chinese too)."""
from __future__ import annotations


def test_find_ranks_and_lists_with_owner(chat, team):
    reply = chat.push("/crm find globex", as_="alice")
    assert [i.text.split(" (")[0] for i in reply.items] == ["Globex Corporation", "Li Na"]
    assert "owner Alice Rep" in reply.items[0].text
    assert reply.items[0].buttons[0].command == f"show #{team.globex}"


def test_find_chinese_and_nothing(chat, team):
    assert "王伟" in chat.push("/crm find 王", as_="bob").items[0].text
    assert "No customer matches" in chat.push("/crm find zzzzqqq", as_="alice").text
    assert chat.push("/crm find", as_="alice").error
