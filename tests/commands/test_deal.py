"""`/crm deal`: open a deal and move it through its stages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.models import Deal


def test_deal_open_then_move(chat, db, team, clock):
    assert "Opened deal" in chat.push("/crm deal globex 12000 proposal", as_="alice").text
    clock.now += timedelta(days=2)
    reply = chat.push("/crm deal globex 15k negotiation close=2026-12-15", as_="alice")
    assert "Updated deal" in reply.text and "$15,000" in reply.text
    with db.session() as s:
        deal = s.exec(select(Deal)).one()
        assert (deal.amount, deal.stage, str(deal.expected_close)) == (15000, "negotiation", "2026-12-15")
        assert deal.stage_changed_at == clock.now
    chat.push("/crm deal globex 15000 won", as_="alice")
    with db.session() as s:
        assert s.exec(select(Deal)).one().closed_at == clock.now


@pytest.mark.parametrize("line,fragment", [
    ("/crm deal globex", "customer and the amount"),
    ("/crm deal globex lots", "not an amount"),
    ("/crm deal globex 100 close=someday", "close= needs a date"),
    ("/crm deal initech 100", "belongs to Bob Rep"),
])
def test_deal_bad_input(chat, line, fragment):
    chat.refuses(line, fragment)
