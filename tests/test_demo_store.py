"""The demo store looks like a team that works (issue 15): no open conversations "waiting 224 days"."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from crm.models import Customer, Ticket
from crm.seed import seed
from tests.helpers import utc

NOW = utc(2026, 11, 23, 10)


def test_open_demo_conversations_are_recent_and_few(db):
    seed(db, 400, seed=7, now=NOW)
    with db.session() as s:
        open_ = s.exec(select(Ticket, Customer.stage).join(Customer, Customer.id == Ticket.customer_id)
                       .where(Ticket.status != "resolved")).all()
        total = len(s.exec(select(Ticket.id)).all())
    assert open_, "some conversations are open: the inbox has something to show"
    assert all(stage != "churned" for _, stage in open_)  # a churned customer's conversation was closed
    assert max(NOW - (t.last_inbound_at or t.opened_at) for t, _ in open_) <= timedelta(days=7)
    assert len(open_) < total / 2  # closed mostly
