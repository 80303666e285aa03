"""The money reason of `/crm next` and the digest's picks keeps each deal's currency (issue 15 item 4):
a pipeline with ¥50,000 and $12,000 is not "$62k"."""
from __future__ import annotations

from datetime import timedelta

from crm.insights_job import refresh_insights
from crm.models import Deal
from crm.recommend import describe
from tests.helpers import say
from tests.insights_support import NOW


def _two_currency_deals(db, team):
    with db.session() as s:
        for amount, currency in ((12000, "USD"), (50000, "CNY")):
            s.add(Deal(customer_id=team.globex, owner_id=team.alice, title=f"deal in {currency}", amount=amount,
                       currency=currency, stage="proposal", stage_changed_at=NOW - timedelta(days=40),
                       created_at=NOW - timedelta(days=45)))


def test_next_gives_each_currency_of_the_open_deals(db, team, engine):
    _two_currency_deals(db, team)
    refresh_insights(db, NOW)
    text = say(engine, "UALICE", "/crm next").plain_text()
    assert "$12,000" in text and "CN¥50,000" in text, text
    assert "$62" not in text


def test_the_money_reason_in_both_languages():
    reason = {"kind": "deal", "stage": "proposal", "days": 30, "amount": 62000.0,
              "amounts": {"USD": 12000.0, "CNY": 50000.0}}
    assert describe(reason, "en") == "$12,000 + CN¥50,000 deal in proposal stage, no movement in 30 days"
    assert describe(reason, "zh") == "proposal 阶段商机 US$12,000 + ¥50,000 已 30 天无进展"
    # a reason stored before currencies were known: no figure rather than a wrong one in dollars
    legacy = {"kind": "deal", "stage": "proposal", "days": 5, "amount": 62000.0}
    assert "$" not in describe(legacy, "en") and "62" not in describe(legacy, "zh")


def test_the_digest_picks_keep_each_currency(db, team, engine):
    _two_currency_deals(db, team)
    refresh_insights(db, NOW)
    text = say(engine, "UALICE", "/crm digest").plain_text()
    assert "Globex" in text and "$12,000 + CN¥50,000 deal" in text, text
    assert "$62" not in text
