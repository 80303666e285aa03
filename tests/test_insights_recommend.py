"""Risk (model and fallback), similar customers, `/crm next` with stored feedback, the picture,
and every insight command through the engine, the terminal chat and Slack."""
from __future__ import annotations

import io

import pytest
from rich.console import Console
from sqlmodel import select

from crm.insights import read
from crm.insights.job import refresh_insights
from crm.insights.priorities import acceptance_rates
from crm.models import CustomerInsight, RecommendationFeedback
from crm.seed import read_seed_truth, seed
from integrations.console import ConsoleChat
from tests.helpers import say
from tests.insights_support import NOW, relate


@pytest.fixture(autouse=True)
def charts_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_CHART_DIR", str(tmp_path / "charts"))


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


# ---- next best action and feedback ----------------------------------------------------------


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


# ---- the picture ----------------------------------------------------------------------------


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


@pytest.mark.store
def test_seed_relationship_density_is_a_parameter_and_rows_are_written_in_chunks(db, monkeypatch):
    """The 1M bench store asks for ~5 relationships per customer; rows go to the store chunk by chunk
    (a chunk smaller than the total here), and every row the result counts is in the store."""
    import crm.seed as seed_module
    from sqlalchemy import func
    from crm.models import Relationship

    monkeypatch.setattr(seed_module, "CHUNK", 97)
    result = seed(db, 300, now=NOW, interactions_per_customer=1, relationships_per_customer=5)
    with db.session() as s:
        stored = s.exec(select(func.count()).select_from(Relationship)).one()
    assert stored == result.relationships
    # 5 draws per customer plus the connectors' (heavy-tailed) links, less self-links and repeats
    assert 0.9 * 5 * 300 <= result.relationships <= 5 * 300 + sum(seed_module.connector_links(result.connectors))


def test_keep_top_terms_keeps_each_rows_strongest_terms_renormalised():
    """The similarity index keeps each customer's strongest terms, unit length: rows longer than ``keep``
    lose their weakest terms, shorter rows are only renormalised, empty rows stay empty."""
    import numpy as np
    from scipy import sparse

    from crm.insights.job import _keep_top_terms

    rng = np.random.default_rng(3)
    dense = np.where(rng.random((60, 40)) < rng.random((60, 1)), rng.random((60, 40)) + 0.01, 0.0)
    dense[5] = 0.0  # a customer who never said anything
    kept = _keep_top_terms(sparse.csr_matrix(dense.astype(np.float32)), 4).toarray()
    for row, out in zip(dense, kept):
        strongest = np.argsort(-row)[:min(4, np.count_nonzero(row))]
        expected = np.zeros_like(row)
        expected[strongest] = row[strongest] / (np.linalg.norm(row[strongest]) or 1.0)
        assert np.allclose(out, expected, atol=1e-6)
    assert np.count_nonzero(kept[5]) == 0 and np.count_nonzero(kept, axis=1).max() == 4
