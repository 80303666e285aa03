"""Risk (model and fallback), similar customers, `/crm next` with stored feedback, the picture,
and every insight command through the engine, the terminal chat and Slack."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console
from sqlmodel import select

from crm.insights import read
from crm.insights_job import refresh_insights
from crm.models import CustomerInsight, RecommendationFeedback, Task
from crm.recommend import acceptance_rates
from crm.seed import read_seed_truth, seed
from integrations.console import ConsoleChat
from tests.helpers import say
from tests.insights_support import NOW, customer, open_deal, open_ticket, relate, talk


@pytest.fixture(autouse=True)
def charts_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_CHART_DIR", str(tmp_path / "charts"))


@pytest.fixture
def book(db, team):
    """Alice's book: Globex is valuable, silent, with a stalled deal and an open ticket; Li Na is just quiet;
    Hooli Buyer was called yesterday. Bob owns Initech."""
    with db.session() as s:
        talk(s, team.alice, team.globex, days_ago=60, times=2, text="warehouse scanners rollout")
        open_deal(s, team.globex, team.alice, 120_000, "proposal", days_still=45)
        open_ticket(s, team.globex, days_ago=12)
        talk(s, team.alice, team.li, days_ago=50, text="warehouse scanners pricing")
        hooli = customer(s, "Hooli Buyer", company="Hooli", owner=team.alice)
        talk(s, team.alice, hooli, days_ago=1, times=3, text="newsroom workflow demo")
        talk(s, team.bob, team.initech, days_ago=3, text="newsroom workflow licences")
    return {"hooli": hooli}


def _listed(reply) -> list[str]:
    return [item.text for item in reply.items]


# ---- risk -------------------------------------------------------------------------------------

@pytest.mark.store
def test_with_few_churned_customers_risk_is_a_heuristic_and_says_so(db, team, book, engine):
    refresh_insights(db, NOW)
    with db.session() as s:
        status = read.status(s)
        globex = read.customer_risk(s, team.globex)
        hooli = read.customer_risk(s, book["hooli"])
    assert status.risk_source == "heuristic" and status.churned == 0
    assert globex.risk > hooli.risk
    assert "no contact in 60 days" in globex.why and "unresolved ticket" in globex.why
    text = say(engine, "UALICE", "/crm insights").plain_text()
    assert "risk by heuristic" in text and "a model needs 30 of each" in text


@pytest.mark.slow
def test_with_enough_history_a_model_is_trained_and_explains_itself(db):
    seed(db, 700, now=NOW, interactions_per_customer=6)
    summary = refresh_insights(db, NOW)
    assert "Risk: model trained on" in summary
    with db.session() as s:
        status = read.status(s)
        risky = s.exec(select(CustomerInsight).where(CustomerInsight.risk > 0.7)).all()
    assert status.risk_source == "model" and status.churned >= 30
    assert status.auc_cv is not None and status.auc_cv > 0.7
    assert risky and all(r.risk_reasons != "[]" for r in risky)


# ---- similar --------------------------------------------------------------------------------

def test_similar_customers_come_with_reasons(engine, team, book):
    reply = say(engine, "UALICE", "/crm similar globex n=3")
    assert not reply.error, reply.plain_text()
    first = reply.items[0].text
    assert first.startswith("Li Na")  # both about warehouse scanners, both quiet for weeks
    assert "warehouse" in first and "both quiet for 30+ days" in first


@pytest.mark.parametrize("line,expected", [("/crm similar", "Which customer?"),
                                           ("/crm similar globex n=abc", "n= is how many"),
                                           ("/crm similar globex n=99", "n= is how many"),
                                           ("/crm similar nobodyxyz", "No customer matches")])
def test_similar_bad_input_is_explained(engine, team, line, expected):
    reply = say(engine, "UALICE", line)
    assert reply.error and expected in reply.text


# ---- next best action and feedback ----------------------------------------------------------

def test_next_ranks_the_valuable_silent_account_first_and_says_why(engine, team, book):
    reply = say(engine, "UALICE", "/crm next")
    listed = _listed(reply)
    assert listed[0].startswith("1. Globex Corporation")
    assert "no contact in 60 days" in listed[0] and "$120k deal in proposal stage" in listed[0]
    assert not any("Hooli Buyer" in t for t in listed)  # called yesterday
    assert [b.command for b in reply.items[0].buttons] == [f"next accept #{team.globex}",
                                                          f"next snooze #{team.globex}",
                                                          f"next dismiss #{team.globex}"]


def test_dismissed_stays_away_for_14_days_then_comes_back(engine, clock, db, team, book):
    assert _listed(say(engine, "UALICE", "/crm next"))[0].startswith("1. Globex")
    reply = say(engine, "UALICE", f"/crm next dismiss #{team.globex}")
    assert "Dismissed Globex Corporation for 14 days" in reply.text
    assert not any("Globex" in t for t in _listed(say(engine, "UALICE", "/crm next")))
    clock.now = NOW + timedelta(days=13)
    assert not any("Globex" in t for t in _listed(say(engine, "UALICE", "/crm next")))
    clock.now = NOW + timedelta(days=14, hours=1)
    assert _listed(say(engine, "UALICE", "/crm next"))[0].startswith("1. Globex")
    with db.session() as s:
        answer = s.exec(select(RecommendationFeedback)).one()
    assert answer.action == "dismissed" and "deal" in answer.reason_kinds and "silent" in answer.reason_kinds


def test_accept_creates_a_follow_up_for_today_and_hides_the_customer(engine, db, team, book):
    reply = say(engine, "UALICE", f"/crm next accept #{team.globex}")
    assert "Accepted" in reply.text
    with db.session() as s:
        task = s.exec(select(Task).where(Task.customer_id == team.globex)).one()
    assert task.owner_id == team.alice and task.title.startswith("Contact Globex Corporation: no contact in 60 days")
    # Alice is in New York: 10:00 UTC is 05:00 there, so due 17:00 her time
    assert task.due_at == NOW.replace(hour=22)
    assert not any("Globex" in t for t in _listed(say(engine, "UALICE", "/crm next")))


def test_snooze_until_a_time_and_refuse_the_past(engine, clock, db, team, book):
    reply = say(engine, "UALICE", f"/crm next snooze #{team.globex} yesterday")
    assert reply.error and "already past" in reply.text
    with db.session() as s:
        assert s.exec(select(RecommendationFeedback)).all() == []
    assert "Snoozed" in say(engine, "UALICE", f"/crm next snooze #{team.globex}").text
    clock.now = NOW + timedelta(days=3, hours=1)
    assert _listed(say(engine, "UALICE", "/crm next"))[0].startswith("1. Globex")


def test_answer_without_a_customer_is_explained(engine, team, book):
    reply = say(engine, "UALICE", "/crm next dismiss")
    assert reply.error and "next dismiss #12" in reply.text


@pytest.mark.store
def test_dismissals_teach_the_next_ranking(db, team, book):
    refresh_insights(db, NOW)
    with db.session() as s:
        before = s.get(CustomerInsight, team.globex).priority
        for _ in range(6):
            s.add(RecommendationFeedback(staff_id=team.alice, customer_id=team.li, action="dismissed", at=NOW,
                                         hidden_until=NOW, reason_kinds="deal,ticket"))
    refresh_insights(db, NOW)
    with db.session() as s:
        after = s.get(CustomerInsight, team.globex).priority
    assert after < before  # Globex's reasons are the kinds Alice keeps dismissing
    team_rate, person_rate = acceptance_rates([(team.alice, "dismissed", "ticket")] * 6
                                              + [(team.bob, "accepted", "ticket")] * 6)
    assert person_rate[(team.alice, "ticket")] < 0.5 < person_rate[(team.bob, "ticket")]


def test_large_store_never_computes_inside_a_command(engine, db, team, book, monkeypatch):
    import handlers._insights

    monkeypatch.setattr(handlers._insights, "SMALL_STORE", 2)
    for line in ("/crm next", "/crm insights", "/crm similar globex", "/crm intro globex", "/crm graph globex"):
        reply = say(engine, "UALICE", line)
        assert reply.error and "crm-bot insights refresh" in reply.text, line
    with db.session() as s:
        assert s.exec(select(CustomerInsight)).all() == []


def test_manager_sees_the_team_list_and_a_rep_cannot(engine, team, book):
    reply = say(engine, "UMARIA", "/crm next team")
    assert any("Globex" in t and "Alice Rep" in t for t in _listed(reply))
    assert say(engine, "UBOB", "/crm next team").error
    assert say(engine, "UBOB", "/crm next @alice").error


# ---- the picture ----------------------------------------------------------------------------

def test_graph_command_saves_a_png(engine, db, team, book):
    with db.session() as s:
        relate(s, team.globex, team.initech, "referred", 0.9)
    reply = say(engine, "UALICE", "/crm graph globex")
    assert not reply.error, reply.plain_text()
    with open(reply.image_path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "Relationships of Globex Corporation" in reply.text


def test_graph_reaches_slack_as_an_uploaded_image(slack_bot, db, team):
    with db.session() as s:
        relate(s, team.globex, team.initech, "referred", 0.9)
    slack_bot.ask("graph globex")
    complete = slack_bot.fake.wait_for("files.completeUploadExternal")[0]
    file_id = complete.params["files"][0]["id"]
    assert slack_bot.fake.uploads[file_id][:8] == b"\x89PNG\r\n\x1a\n"


# ---- the terminal chat ----------------------------------------------------------------------

def test_every_insight_command_in_the_terminal_chat(engine, team, book):
    out = io.StringIO()
    chat = ConsoleChat(engine, "Alice Rep", console=Console(file=out, width=200))
    for line in ("/crm next", "/crm similar globex", "/crm intro initech", "/crm insights", "/crm graph globex"):
        reply = chat.run_line(line)
        assert reply is not None and not reply.error, (line, reply.plain_text())
    chat.run_line("/crm next")
    chat.run_line("3")  # the first item's Dismiss button
    text = out.getvalue()
    assert "Who to contact today" in text and "image saved to" in text and "Dismissed Globex Corporation" in text


# ---- planted structure ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.store
def test_seed_plants_communities_connectors_churn_and_must_contact(db):
    result = seed(db, 400, now=NOW, interactions_per_customer=4)
    truth = read_seed_truth(db)
    assert result.connectors == len(truth["connectors"]) >= 3
    assert len(set(truth["community"].values())) == result.clusters >= 2
    assert sum(len(v) for v in truth["must_contact"].values()) == result.must_contact > 0
    assert result.churned == len(truth["churn_causes"]) > 0
    causes = [c for cs in truth["churn_causes"].values() for c in cs]
    assert {"silent", "tickets", "bad_rating", "stalled"} <= set(causes)
