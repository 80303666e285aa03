"""The vectorised bulk seeder (crm/seed_bulk.py): what it writes is a store the product works on.

It writes rows with the DBAPI (executemany / COPY) and fills the derived columns itself, so every
command that reads them is run on a bulk-seeded store through the engine: find (the search tables,
English and Chinese), show, log, intro, and the nightly insight job."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from crm.insights.job import refresh_insights
from crm.models import Company, Customer, CustomerInsight, Deal, Interaction, Relationship, Staff, Ticket
from crm.search import build_search_cjk, build_search_text
from crm.seed import read_seed_truth
from crm.seed_bulk import seed_bulk
from tests.helpers import make_team, say

CUSTOMERS = 2_000


def _count(db, model) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def bulk(db, clock):
    team = make_team(db)  # a store already in use: the seed appends after its ids
    result = seed_bulk(db, CUSTOMERS, seed=3, now=clock.now, interactions_per_customer=5)
    return team, result


@pytest.mark.store
@pytest.mark.slow
def test_counts_are_what_was_asked_and_every_row_is_in_the_store(db, bulk):
    team, result = bulk
    assert result.customers == CUSTOMERS
    assert _count(db, Customer) == CUSTOMERS + 4  # the team's four
    assert _count(db, Company) >= result.companies == CUSTOMERS // 4
    assert _count(db, Interaction) == result.interactions
    assert 4 * CUSTOMERS < result.interactions < 6 * CUSTOMERS  # ~5 per customer as asked, at least one each
    assert _count(db, Relationship) == result.relationships > 4 * CUSTOMERS  # ~5 per customer
    assert _count(db, Deal) == result.deals > 0 and _count(db, Ticket) == result.tickets > 0
    assert _count(db, Staff) == 4 + result.staff
    truth = read_seed_truth(db)
    assert len(truth["community"]) == CUSTOMERS and len(set(truth["community"].values())) == result.clusters
    assert len(truth["connectors"]) == result.connectors >= 3
    assert sum(len(v) for v in truth["must_contact"].values()) == result.must_contact > 0
    assert len(truth["churn_causes"]) == result.churned > 0
    with db.engine.connect() as conn:
        # every customer has a company and a last contact; churned ones a churn date, others none
        assert conn.execute(text("SELECT count(*) FROM customer WHERE id > :t AND (company_id IS NULL OR "
                                 "last_contact_at IS NULL)"), dict(t=team.li)).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM customer WHERE (stage = 'churned') != "
                                 "(churned_at IS NOT NULL)")).scalar_one() == 0
        # a churned customer's history stops at its churn date
        assert conn.execute(text("SELECT count(*) FROM interaction i JOIN customer c ON c.id = i.customer_id "
                                 "WHERE c.churned_at IS NOT NULL AND i.occurred_at > c.churned_at")).scalar_one() == 0
        kinds = {k for (k,) in conn.execute(text("SELECT DISTINCT kind FROM interaction"))}
        channels = {k for (k,) in conn.execute(text("SELECT DISTINCT channel FROM interaction"))}
        languages = {k for (k,) in conn.execute(text("SELECT DISTINCT language FROM customer"))}
    assert kinds == {"call", "email", "meeting", "chat", "note", "message"}
    assert channels == {"slack", "console", "telegram"} and languages == {"en", "zh"}


@pytest.mark.store
@pytest.mark.slow
def test_derived_columns_are_the_ones_the_orm_path_writes(db, bulk):
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT c.name, c.name_key, co.name, c.email, c.phone, c.phone_key, c.tags, "
                                 "c.search_text, c.search_cjk FROM customer c JOIN company co ON co.id = c.company_id "
                                 "WHERE c.id > 4")).all()
    from crm.customers import phone_key

    for name, key, company, email, phone, pkey, tags, search, cjk in rows:
        assert key == name.casefold()[:200]
        assert search == build_search_text(name, company, email, phone, tags)
        assert cjk == build_search_cjk(name, company)
        assert pkey == phone_key(phone)


@pytest.mark.store
@pytest.mark.slow
def test_find_show_log_intro_and_the_insight_job_work_on_a_bulk_seeded_store(db, engine, bulk, clock):
    team, result = bulk
    with db.engine.connect() as conn:
        cid, name, email = conn.execute(text("SELECT id, name, email FROM customer WHERE language = 'en' AND id > 4 "
                                             "ORDER BY id LIMIT 1")).one()
        zh_id, zh_name = conn.execute(text("SELECT id, name FROM customer WHERE language = 'zh' AND id > 4 "
                                           "ORDER BY id LIMIT 1")).one()
        linked = conn.execute(text("SELECT from_customer_id FROM relationship ORDER BY id LIMIT 1")).scalar_one()

    # find: by the unique email (the search table), and a Chinese name (the CJK search table)
    found = say(engine, "UADA", f"/crm find {email}")
    assert not found.error and name in found.plain_text()
    found_zh = say(engine, "UADA", f"/crm find {zh_name}")
    assert not found_zh.error and zh_name in found_zh.plain_text()

    shown = say(engine, "UADA", f"/crm show #{cid}")
    assert not shown.error and name in shown.plain_text()

    before = _count(db, Interaction)
    logged = say(engine, "UADA", f"/crm log #{cid} call discussed the bulk seed")
    assert not logged.error, logged.plain_text()
    assert _count(db, Interaction) == before + 1

    summary = refresh_insights(db, clock.now)
    assert f"Insights refreshed for {CUSTOMERS + 4:,} customers" in summary
    assert _count(db, CustomerInsight) == CUSTOMERS + 4
    with db.engine.connect() as conn:
        communities = conn.execute(text("SELECT count(DISTINCT community) FROM customer_insight")).scalar_one()
    assert 2 <= communities < CUSTOMERS

    intro = say(engine, "UADA", f"/crm intro #{linked}")
    assert not intro.error, intro.plain_text()
    assert intro.plain_text().strip()


@pytest.mark.slow
def test_the_cli_seeds_large_stores_in_bulk_and_small_ones_as_before(cli, db, capsys, monkeypatch):
    import crm.seed_bulk

    called = []
    real = crm.seed_bulk.seed_bulk
    monkeypatch.setattr(crm.seed_bulk, "seed_bulk", lambda *a, **kw: called.append(a[1]) or real(*a, **kw))
    monkeypatch.setattr(crm.seed_bulk, "BULK_FROM", 500)  # what is 200,000 customers in production
    assert cli(["seed", "--customers", "499", "--seed", "3"]) == 0  # below: crm.seed, planted truth as pinned
    assert called == [] and "Seeded 499 customers" in capsys.readouterr().out
    assert cli(["seed", "--customers", "600", "--seed", "3"]) == 0
    assert called == [600]
    out = capsys.readouterr().out
    assert "Seeded 600 customers, 150 companies" in out
    assert _count(db, Customer) == 1_099
    assert min(read_seed_truth(db)["community"]) == 500  # the second seed appended after the first


def test_the_loads_connection_settings_do_not_outlive_the_seed(db, bulk):
    """The load turns fsync and foreign keys off and takes a 256 MiB page cache; the pool must not hand
    that connection to the product afterwards (the cache size used to stay behind)."""
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA cache_size")).scalar() != -262144
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
