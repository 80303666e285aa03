"""The money reason of `/crm next` and the digest's picks keeps each deal's currency (issue 15 item 4):
a pipeline with ¥50,000 and $12,000 is not "$62k"."""
from __future__ import annotations

from datetime import timedelta

from crm.insights.job import refresh_insights
from crm.insights.reasons import describe
from crm.models import Deal
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
    # the stage in the reader's words, as the card and the digest show it (crm/labels.py)
    assert describe(reason, "zh") == "报价阶段商机 US$12,000 + ¥50,000 已 30 天无进展"
    stalled = {"kind": "stalled_deal", "stage": "negotiation", "days": 40}
    assert describe(stalled, "zh") == "谈判阶段的商机已停滞 40 天"
    assert describe(stalled, "en") == "deal stuck in negotiation for 40 days"
    # a reason stored before currencies were known: no figure rather than a wrong one in dollars
    legacy = {"kind": "deal", "stage": "proposal", "days": 5, "amount": 62000.0}
    assert "$" not in describe(legacy, "en") and "62" not in describe(legacy, "zh")


def test_the_digest_picks_keep_each_currency(db, team, engine):
    _two_currency_deals(db, team)
    refresh_insights(db, NOW)
    text = say(engine, "UALICE", "/crm digest").plain_text()
    assert "Globex" in text and "$12,000 + CN¥50,000 deal" in text, text
    assert "$62" not in text


def test_single_threaded_accounts_state_their_open_deals_per_currency(db, team):
    from crm.insights import read
    from tests.insights_support import customer, talk

    with db.session() as s:
        buyer = customer(s, "Umbrella Buyer", company="Umbrella", owner=team.alice, tier="vip")
        customer(s, "Umbrella CFO", company="Umbrella", owner=team.alice)
        for amount, currency in ((30000, "USD"), (200000, "CNY")):
            s.add(Deal(customer_id=buyer, owner_id=team.alice, title=currency, amount=amount, currency=currency,
                       stage="proposal", stage_changed_at=NOW - timedelta(days=10), created_at=NOW - timedelta(days=12)))
        talk(s, team.alice, buyer, days_ago=2, times=3)
    refresh_insights(db, NOW)
    with db.session() as s:
        umbrella = {x.company: x for x in read.single_threaded_accounts(s, 10)}["Umbrella"]
    assert "$30,000 + CN¥200,000" in umbrella.why, umbrella.why
    assert "US$30,000 + ¥200,000" in umbrella.why_zh, umbrella.why_zh


def test_similar_names_each_customers_open_deals_in_their_currency(db, team, engine):
    with db.session() as s:
        for cid, amount, currency in ((team.globex, 12000, "USD"), (team.li, 50000, "CNY")):
            s.add(Deal(customer_id=cid, owner_id=team.alice, title=currency, amount=amount, currency=currency,
                       stage="proposal", stage_changed_at=NOW - timedelta(days=3), created_at=NOW - timedelta(days=4)))
    refresh_insights(db, NOW)
    text = say(engine, "UALICE", "/crm similar globex n=10").plain_text()
    assert "both have open deals ($12,000 and CN¥50,000)" in text, text
