"""`/crm link`: a relationship between two customers."""
from __future__ import annotations

import pytest
from sqlmodel import select

from crm.models import Relationship


def test_link_and_update(chat, db, team):
    assert "Linked" in chat.push("/crm link globex initech referred", as_="maria").text
    assert "Updated" in chat.push("/crm link globex initech referred strength=0.9", as_="maria").text
    with db.session() as s:
        rel = s.exec(select(Relationship)).one()
        assert (rel.from_customer_id, rel.to_customer_id, rel.kind, rel.strength) == (team.globex, team.initech,
                                                                                      "referred", 0.9)


@pytest.mark.parametrize("line,fragment", [
    ("/crm link globex initech", "Name two customers"),
    ("/crm link globex initech enemies", "not a relationship"),
    ("/crm link globex globex knows", "same customer"),
    ("/crm link globex initech knows strength=7", "strength="),
])
def test_link_bad_input(chat, line, fragment):
    chat.refuses(line, fragment)
