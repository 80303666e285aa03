"""`/crm deal`: options anywhere, currencies, near-miss stages, closing without an amount (issue 15)."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm.models import AuditEvent, Deal
from tests.helpers import say


def _deals(db, customer_id):
    with db.session() as s:
        return s.exec(select(Deal).where(Deal.customer_id == customer_id).order_by(Deal.id)).all()


def test_close_option_is_not_swallowed_into_the_title(engine, db, team):
    reply = say(engine, "UALICE", "/crm deal globex 12000 proposal close=2026-12-15")
    assert not reply.error, reply.text
    deal, = _deals(db, team.globex)
    assert deal.title == "" and str(deal.expected_close) == "2026-12-15"


def test_chinese_close_option_in_the_middle_of_the_title(engine, db, team, clock):
    reply = say(engine, "UBOB", "/crm deal 王伟 50000 qualified 年度合同 close=下个月底")
    assert not reply.error, reply.text
    deal, = _deals(db, team.wang)
    assert deal.title == "年度合同"
    assert str(deal.expected_close) == "2026-12-31"  # clock is 23 Nov 2026
    assert deal.stage == "qualified"


def test_options_before_the_amount_and_full_width_equals(engine, db, team):
    reply = say(engine, "UALICE", "/crm deal close＝2026-12-20 globex stage=negotiation 9000 renewal")
    assert not reply.error, reply.text
    deal, = _deals(db, team.globex)
    assert (deal.amount, deal.stage, deal.title, str(deal.expected_close)) == (9000, "negotiation", "renewal",
                                                                                "2026-12-20")


@pytest.mark.parametrize("typed,amount,currency", [
    ("¥50000", 50000, "CNY"), ("5万", 50000, "CNY"), ("RMB 50000", 50000, "CNY"), ("50000元", 50000, "CNY"),
    ("€2,500", 2500, "EUR"), ("£10k", 10000, "GBP"), ("12000 USD", 12000, "USD"), ("12000", 12000, "USD"),
    ("3.5k eur", 3500, "EUR"),
])
def test_currency_is_parsed_and_stored(engine, db, team, typed, amount, currency):
    reply = say(engine, "UBOB", f"/crm deal #{team.wang} {typed} proposal")
    assert not reply.error, reply.text
    deal, = _deals(db, team.wang)
    assert (deal.amount, deal.currency, deal.stage) == (amount, currency, "proposal")
    assert deal.title == ""


def test_default_currency_is_the_business_setting(engine, db, team, settings):
    settings.crm_currency = "EUR"
    reply = say(engine, "UALICE", "/crm deal globex 12000 proposal")
    assert "€12,000" in reply.text
    assert _deals(db, team.globex)[0].currency == "EUR"


def test_misspelt_stage_is_a_question_and_changes_nothing(engine, db, team):
    say(engine, "UALICE", "/crm deal globex 12000 proposal pilot")
    reply = say(engine, "UALICE", "/crm deal globex 15000 negotation")
    assert reply.error and "did you mean negotiation?" in reply.text
    deal, = _deals(db, team.globex)
    assert (deal.amount, deal.stage, deal.title) == (12000, "proposal", "pilot")
    reply = say(engine, "UALICE", "/crm deal globex stage=negotation")
    assert reply.error and "did you mean negotiation?" in reply.text


@pytest.mark.parametrize("word,stage", [("won", "won"), ("lost", "lost"), ("赢单", "won")])
def test_won_or_lost_closes_the_open_deal_without_an_amount(engine, db, team, word, stage):
    say(engine, "UALICE", "/crm deal globex 12000 proposal")
    reply = say(engine, "UALICE", f"/crm deal globex {word}")
    assert not reply.error, reply.text
    deal, = _deals(db, team.globex)
    assert (deal.amount, deal.stage) == (12000, stage) and deal.closed_at is not None
    assert "$12,000" in reply.text


def test_won_without_an_open_deal_says_what_to_do(engine, db, team):
    reply = say(engine, "UALICE", "/crm deal globex won")
    assert reply.error and "no open deal" in reply.text
    assert _deals(db, team.globex) == []


def test_stage_only_update_keeps_the_amount_and_currency(engine, db, team):
    say(engine, "UBOB", "/crm deal 王伟 ¥80000 proposal")
    reply = say(engine, "UBOB", "/crm deal 王伟 negotiation")
    assert not reply.error, reply.text
    deal, = _deals(db, team.wang)
    assert (deal.amount, deal.currency, deal.stage) == (80000, "CNY", "negotiation")


def test_audit_records_what_changed_as_plain_values(engine, db, team):
    say(engine, "UALICE", "/crm deal globex 12000 proposal")
    say(engine, "UALICE", "/crm deal globex 15000 negotiation")
    with db.session() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "deal.update")).one()
    detail = json.loads(event.detail)
    assert detail["before"] == {"amount": 12000, "stage": "proposal"}


@pytest.mark.parametrize("typed,close,title", [
    ("close=dec 15 renewal", "2026-12-15", "renewal"),
    ("renewal close=end of month", "2026-11-30", "renewal"),
    ("close=下个月底 年度合同", "2026-12-31", "年度合同"),
])
def test_unquoted_dates_with_spaces_stay_with_close(engine, db, team, typed, close, title):
    reply = say(engine, "UALICE", f"/crm deal globex 9000 proposal {typed}")
    assert not reply.error, reply.text
    deal, = _deals(db, team.globex)
    assert (str(deal.expected_close), deal.title) == (close, title)
