"""The statements `/crm find|show|log` send never scan a table nor sort a customer's history.

At 1,000,000 customers (issue 16: p99 under 25 ms) one full scan of the customer table costs
~200 ms, so every statement these commands run must be an index lookup whose cost follows the
answer, not the store. Statements are captured as the product sends them (SQLAlchemy's
``after_cursor_execute``) while the commands run through the engine, then planned by SQLite
(``EXPLAIN QUERY PLAN``). SQLite's planner assumes big tables without ANALYZE statistics, so the
plans on this small store are the plans of the big one.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from bench.query_plans import grows
from crm import search
from crm.customers import create_customer
from crm.search import search_customers

pytestmark = pytest.mark.sqlite_only


def _plans(db, run) -> list[tuple[str, list[str]]]:
    """(statement, plan lines) of every statement ``run()`` sends that reads a table."""
    seen: list[tuple[str, object]] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if not executemany:
            seen.append((statement, parameters))

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        run()
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    planned = []
    raw = db.engine.raw_connection()
    try:
        for statement, params in seen:
            if statement.split(None, 1)[0].upper() not in ("SELECT", "UPDATE", "DELETE", "WITH"):
                continue
            cur = raw.cursor()
            cur.execute("EXPLAIN QUERY PLAN " + statement, params or ())
            planned.append((statement, [row[-1] for row in cur.fetchall()]))
    finally:
        raw.close()
    return planned


def _growing(planned) -> list[str]:
    return [f"{' '.join(sql.split())[:160]}\n    -> {line}" for sql, lines in planned for line in lines if grows(line)]


def test_the_growth_rule_reads_sqlite_plans():
    assert grows("SCAN customer")
    assert grows("SCAN company USING COVERING INDEX sqlite_autoindex_company_1")
    assert grows("USE TEMP B-TREE FOR ORDER BY")
    assert not grows("SEARCH customer USING INDEX ix_customer_lower_name (name_key=?)")
    assert not grows("SCAN f VIRTUAL TABLE INDEX 0:M1")
    assert not grows("SEARCH c USING INTEGER PRIMARY KEY (rowid=?)")
    assert not grows("SCAN (subquery-1)")


@pytest.mark.parametrize("line", [
    "/crm find globex", "/crm find globx", "/crm find ops@globex", "/crm find 王", "/crm find 王伟",
    "/crm find 华为", "/crm find zzzzqqq", "/crm find li na",
    "/crm show globex", "/crm show #{wang}", "/crm show 王伟", '/crm show "Globex Corporation"',
    "/crm show ops@globex.example", "/crm show OPS@GLOBEX.EXAMPLE", "/crm show 华为技术", "/crm show initech",
    "/crm log #{globex} call yesterday 4pm discussed renewal pricing",
    "/crm log 王伟 电话 昨天下午4点 讨论续约价格", "/crm log li.na@globex.example email sent the proposal",
])
def test_find_show_log_use_indexes_only(chat, db, team, line):
    chat.push("/crm deal globex 12000 proposal", as_="alice")
    chat.push("/crm deal globex 3000 negotiation", as_="alice")
    line = line.format(wang=team.wang, globex=team.globex)
    replies = []
    planned = _plans(db, lambda: replies.append(chat.push(line, as_="alice")))
    assert not replies[0].error or "No customer matches" in replies[0].text, replies[0].text
    assert planned, "no statement was captured"
    assert _growing(planned) == []


def test_show_by_email_and_company_reach_the_customer(chat, team):
    # the indexed lookups answer what the scans answered: case-insensitive email and company name
    assert chat.push("/crm show OPS@GLOBEX.example", as_="alice").text.startswith("Globex Corporation")
    assert chat.push("/crm show 华为技术", as_="bob").text.startswith("王伟")
    assert chat.push("/crm show initech", as_="alice").text.startswith("Initech")


def test_misspelt_search_ranks_a_bounded_number_of_documents(db, team, monkeypatch):
    """The last resort for a misspelt query ranks documents sharing any of its trigrams (bm25). Ranking
    every document that shares a common trigram ("ith", "son") reads a large share of the store at
    1,000,000 customers; only trigrams rare enough to keep the ranked set under RANKED are used."""
    monkeypatch.setattr(search, "RANKED", 40)
    with db.session() as s:
        for i in range(120):
            create_customer(s, f"Person Smithson {i}", email=f"p{i}@example.com")
        create_customer(s, "Quintessa Smithson", email="qs@example.com")
    ranked: list[str] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and "MATCH" in statement:
            ranked.append(parameters[0] if isinstance(parameters, (tuple, list)) else parameters["m"])

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        with db.session() as s:
            hits = search_customers(s, "quinxessa smithsom")  # typos mid-word: no stem matches
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    assert hits and hits[0][0].name == "Quintessa Smithson"
    assert ranked, "the misspelling reached the ranked stage"
    with db.session() as s:
        for match in ranked:
            documents = s.execute(text("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH :m"),
                                  {"m": match}).scalar()
            assert documents <= 40, (match, documents)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_two_letters_never_read_the_table(db, team):
    """pg_trgm cannot index two letters: ILIKE '%qz%' read every customer when few matched. Two Latin
    letters are a name prefix there, as on SQLite."""
    sent: list[str] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        with db.session() as s:
            assert [c.name for c, _ in search_customers(s, "li")] == ["Li Na"]
            assert search_customers(s, "qz") == []
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    assert not [sql for sql in sent if "ILIKE" in sql.upper()]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_misspelling_ranks_a_bounded_number_of_texts(db, team, monkeypatch):
    """A common name's typo is similar to tens of thousands of customers at 1,000,000: word_similarity
    ranks at most PG_RANKED of them, not all."""
    monkeypatch.setattr(search, "PG_RANKED", 3)
    with db.session() as s:
        for i in range(12):
            create_customer(s, f"Smithson {i}", email=f"s{i}@example.com")
    with db.session() as s:
        hits = search_customers(s, "smithsonx")
    assert 1 <= len(hits) <= 3
    assert all(c.name.startswith("Smithson") for c, _ in hits)


def test_intro_reads_a_colleagues_last_interaction_with_one_seek(chat, db, team, chain):
    """`/crm intro` names each hop's basis: the colleague's last interaction with that customer. SQLite
    chose the (staff_id, occurred_at) index for it and walked the colleague's whole history, newest
    first, until that customer came up (~770,000 rows per colleague at 1,000,000 customers)."""
    replies = []
    planned = _plans(db, lambda: replies.append(chat.push(f"/crm intro #{chain['target']}", as_="alice")))
    assert "renewal call with Li" in replies[0].plain_text()
    lookups = [lines for sql, lines in planned if "FROM interaction" in sql and "interaction.staff_id =" in sql]
    assert lookups
    for lines in lookups:
        assert any("(customer_id=? AND staff_id=?)" in line for line in lines), lines


def test_insight_commands_count_a_big_store_only_as_far_as_small(chat, db, team, monkeypatch):
    """Before the nightly job has run, `/crm intro` (and `similar`, `next`) ask whether the store is
    small enough to compute now. Counting every customer read the whole table at 1,000,000 (~200 ms
    per command); the count stops past SMALL_STORE, so its work does not grow with the store."""
    from handlers import _insights

    monkeypatch.setattr(_insights, "SMALL_STORE", 5)
    with db.session() as s:
        for i in range(20):
            create_customer(s, f"Filler {i}")
    sent: list[tuple[str, object]] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower() and "customer" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        reply = chat.push(f"/crm intro #{team.globex}", as_="alice")
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    assert reply.error and "not been computed" in reply.text
    assert sent

    def steps(statement, params) -> int:
        """SQLite virtual-machine steps the statement takes (its work, whatever the machine's load)."""
        taken = {"n": 0}

        def tick():
            taken["n"] += 1
            return 0

        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.set_progress_handler(tick, 1)
            raw.cursor().execute(statement, params or ()).fetchall()
        finally:
            raw.driver_connection.set_progress_handler(None, 1)
            raw.close()
        return taken["n"]

    before = [steps(*statement) for statement in sent]
    with db.session() as s:
        for i in range(300):
            create_customer(s, f"More {i}")
    assert [steps(*statement) for statement in sent] == before
