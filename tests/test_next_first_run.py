"""The first `/crm next` on the demo store answers from insights already computed (issue 15: it took
3.6 s because it trained the churn model inside the command)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from bot.cli import _seed_if_empty
from crm.insights import store
from crm.models import Staff
from tests.helpers import say

pytestmark = pytest.mark.timeout(240)


def test_demo_seed_computes_insights_so_the_first_next_does_not(db, engine, monkeypatch):
    assert _seed_if_empty(db, customers=120)
    with db.session() as s:
        assert store.summary(s) is not None
        rep = s.exec(select(Staff).where(Staff.role == "rep")).first()

    import crm.insights.job

    def no_compute(*_a, **_k):
        raise AssertionError("the command computed the insights itself")

    monkeypatch.setattr(crm.insights.job, "refresh_in", no_compute)
    reply = say(engine, rep.name, "/crm next", platform="console")
    assert not reply.error, reply.text
