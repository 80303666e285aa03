"""The digest (issue 15): covers everything since the previous one, totals per currency, the
reasons `next` gives, few buttons, plain wording; `next team` respects the reps' answers."""
from __future__ import annotations

import pytest
from sqlmodel import select

from crm.models import Customer, Deal, DigestRun, Interaction, Staff
from handlers.digest.build import build_digest
from bot.voice import Voice
from tests.helpers import say, utc

pytestmark = pytest.mark.timeout(240)


def _activity_total(reply) -> tuple[str, str]:
    return next((k, v) for k, v in reply.fields if k.startswith("Interactions"))


def _log(db, staff_id, customer_id, at):
    with db.session() as s:
        s.add(Interaction(customer_id=customer_id, staff_id=staff_id, kind="call", direction="outbound",
                          channel="slack", text="x", occurred_at=at))


def _digest(db, settings, staff_id, now, kind="manager", chart=False):
    with db.session() as s:
        person = s.get(Staff, staff_id)
        return build_digest(s, person, kind, Voice(person, settings, now), chart=chart)


def test_mondays_digest_covers_the_weekend(db, settings, team):
    for day in (19, 20, 21, 22):  # Thu (covered by Friday's digest), Fri, Sat, Sun
        _log(db, team.alice, team.globex, utc(2026, 11, day, 12))
    key, value = _activity_total(_digest(db, settings, team.manager, utc(2026, 11, 23, 8)))
    assert (key, value) == ("Interactions since Fri 20 Nov", "3")
    key, value = _activity_total(_digest(db, settings, team.manager, utc(2026, 11, 24, 8)))
    assert (key, value) == ("Interactions yesterday", "0")


def test_digest_covers_since_the_last_one_sent(db, settings, team):
    with db.session() as s:  # the last digest Maria got was on Wednesday (she was away Thu and Fri)
        s.add(DigestRun(staff_id=team.manager, run_date=utc(2026, 11, 18).date(), kind="manager", status="sent"))
    for day in (17, 18, 19, 20, 22):
        _log(db, team.alice, team.globex, utc(2026, 11, day, 12))
    key, value = _activity_total(_digest(db, settings, team.manager, utc(2026, 11, 23, 8)))
    assert (key, value) == ("Interactions since Wed 18 Nov", "4")


def test_pipeline_totals_per_currency_or_converted(db, settings, team):
    with db.session() as s:
        s.add_all([Deal(customer_id=team.globex, owner_id=team.alice, amount=12000, currency="USD", stage="proposal"),
                   Deal(customer_id=team.wang, owner_id=team.bob, amount=50000, currency="CNY", stage="proposal")])
    fields = dict(_digest(db, settings, team.manager, utc(2026, 11, 24, 8)).fields)
    assert fields["Open pipeline"] == "2 deals · $12,000 + CN¥50,000"
    settings.crm_currency_rates = "CNY=0.14"
    fields = dict(_digest(db, settings, team.manager, utc(2026, 11, 24, 8)).fields)
    assert fields["Open pipeline"] == "2 deals · $19,000 (converted to USD at the business's rates)"


def test_a_big_teams_digest_has_few_buttons_and_plain_words(db, settings):
    job = pytest.importorskip("crm.insights.job")
    from crm.seed import seed

    seed(db, 600, seed=5, now=utc(2026, 11, 22, 20))
    job.refresh_insights(db)
    with db.session() as s:
        managers = s.exec(select(Staff.id).where(Staff.role == "manager")).all()
    checked_money = False
    for manager in managers:
        reply = _digest(db, settings, manager, utc(2026, 11, 23, 9))
        buttons = len(reply.buttons) + sum(len(i.buttons) for sec in reply.sections for i in sec.items)
        assert buttons <= 30, buttons
        assert all(len(i.buttons) <= 1 for sec in reply.sections for i in sec.items)
        text = reply.plain_text()
        for jargon in ("PageRank", "‱", "participation", "betweenness", "))"):
            assert jargon not in text, (jargon, text)
        picks = next(sec for sec in reply.sections if sec.title == "Who to contact today")
        # every reason `next` gives (the deal's money among them), not only the first
        from crm.insights.read import top_recommendations

        with db.session() as s:
            whys = {}
            for rep in s.exec(select(Staff).where(Staff.manager_id == manager)).all():
                for r in top_recommendations(s, rep.id, 1, now=utc(2026, 11, 23, 9)):
                    whys[r.name] = r.why
        for item in picks.items:
            name, why = item.text.split(": ", 1)[1].split(" — ", 1)
            assert why == whys[name]
            checked_money = checked_money or "$" in why
    assert checked_money  # at least one pick carried a deal's amount


@pytest.fixture
def scored(db, team):
    """Insight rows for the four customers, as the nightly job writes them."""
    import json

    from crm.models import CustomerInsight

    with db.session() as s:
        for cid, priority in ((team.globex, 0.9), (team.li, 0.8), (team.initech, 0.7), (team.wang, 0.6)):
            s.add(CustomerInsight(customer_id=cid, risk=0.3, risk_reasons="[]", priority=priority,
                                  priority_reasons=json.dumps([{"kind": "silent", "days": 40}]),
                                  computed_at=utc(2026, 11, 23, 2)))
    from crm.insights import store

    from handlers._insights import fingerprint

    with db.session() as s:  # as if the job had just run on this very store: commands read, not recompute
        store.write_blobs(s.connection(), {store.SUMMARY: store.json_blob(
            {"computed_at": "2026-11-23T09:59:00+00:00", "customers": 4,
             "fingerprint": fingerprint(s.connection())})}, utc(2026, 11, 23, 9, 59))
    return team


def test_next_team_respects_what_reps_answered(engine, db, scored):
    team = scored
    before = say(engine, "UMARIA", "/crm next team")
    assert not before.error, before.text
    listed = [i.text for i in before.items]
    assert any("Globex Corporation" in t for t in listed) and any("Initech" in t for t in listed)
    assert not say(engine, "UALICE", f"/crm next dismiss #{team.globex}").error
    assert not say(engine, "UBOB", f"/crm next snooze #{team.initech}").error
    assert not say(engine, "UALICE", f"/crm next accept #{team.li}").error
    after = [i.text for i in say(engine, "UMARIA", "/crm next team").items]
    assert not any(name in t for t in after for name in ("Globex Corporation", "Initech", "Li Na")), after
    assert any("王伟" in t for t in after)


def test_accepted_recommendation_makes_a_short_task(engine, db, scored):
    from crm.models import CustomerInsight, Task
    import json

    with db.session() as s:
        row = s.get(CustomerInsight, scored.globex)
        row.priority_reasons = json.dumps([{"kind": "silent", "days": 40}, {"kind": "deal", "stage": "proposal",
                                                                            "days": 30, "amount": 120000},
                                           {"kind": "words", "words": ["cancel", "refund", "competitor"]},
                                           {"kind": "ticket", "count": 3, "days": 12}])
        s.add(row)
    reply = say(engine, "UALICE", f"/crm next accept #{scored.globex}")
    assert not reply.error, reply.text
    with db.session() as s:
        task = s.exec(select(Task)).one()
    assert task.title == "Contact Globex Corporation: no contact in 40 days"
    assert len(task.title) <= 80
