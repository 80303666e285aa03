"""Bulk import: customers with external ids, then relationships and interactions referring to them;
bad rows reported by line, good rows kept, re-runs store nothing twice; and the insights export."""
from __future__ import annotations

import csv
import io
import json
import time

import pytest
from sqlmodel import func, select

from crm.bulk_import import import_relationships
from crm.models import Customer, Interaction, Relationship

pytestmark = pytest.mark.store  # SQLite and PostgreSQL: bulk inserts and the partial unique index on both


CUSTOMERS = ("name,company,email,external_id\n"
             "Ada Ltd Buyer,Ada Ltd,ada@ada.example,SF-001\n"
             "Bea Corp CFO,Bea Corp,bea@bea.example,SF-002\n"
             "Cy Inc CTO,Cy Inc,cy@cy.example,SF-003\n"
             "Dup External,,dup@x.example,SF-003\n")


def _import(cli, capsys, kind: str, path) -> tuple[str, str]:
    """`crm-bot import KIND PATH`, which must succeed; what it printed (stdout, stderr)."""
    capsys.readouterr()
    assert cli(["import", kind, str(path)]) == 0
    return capsys.readouterr()


def _customers(cli, tmp_path, capsys):
    cli(["staff", "add", "--name", "Alice Rep", "--role", "rep", "--email", "alice@x.example"])
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    capsys.readouterr()
    assert cli(["import", "customers", str(path)]) == 0
    return path


def test_customer_import_reports_created_ids_and_matches_known_external_ids_on_rerun(cli, db, tmp_path, capsys):
    path = _customers(cli, tmp_path, capsys)
    out, err = capsys.readouterr()
    with db.session() as s:
        ids = {c.external_id: c.id for c in s.exec(select(Customer)).all()}
    assert set(ids) == {"SF-001", "SF-002", "SF-003"}
    assert "Imported 3 customers" in out
    assert f"Created: #{min(ids.values())}–#{max(ids.values())}" in out
    assert "line 5" in out  # the repeated external id matched the customer created on line 4
    out, err = _import(cli, capsys, "customers", path)
    assert "Imported 0 customers" in out and f"line 2 → #{ids['SF-001']}" in out
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Customer)).one() == 3


def test_relationships_import_by_external_id_reports_bad_lines_and_is_idempotent(cli, db, tmp_path, capsys):
    _customers(cli, tmp_path, capsys)
    path = tmp_path / "links.csv"
    path.write_text("from,to,kind,strength\n"
                    "SF-001,SF-002,referred,0.9\n"
                    "SF-002,SF-003,,\n"
                    "SF-001,SF-999,knows,0.5\n"
                    "SF-001,SF-001,knows,0.5\n"
                    "SF-001,SF-003,enemies,0.5\n"
                    "SF-001,SF-003,knows,7\n"
                    "bea@bea.example,SF-003,works-with,0.6\n", encoding="utf-8")
    out, err = _import(cli, capsys, "relationships", path)
    assert "Imported 3 relationships; 0 already there; skipped 4 bad rows." in out
    assert "line 4: no customer “SF-999”" in err
    assert "line 5: a customer cannot be related to themselves" in err
    assert "line 6: kind “enemies”" in err
    assert "line 7: strength “7”" in err
    with db.session() as s:
        rows = s.exec(select(Relationship)).all()
        ids = {c.external_id: c.id for c in s.exec(select(Customer)).all()}
    by_pair = {(r.from_customer_id, r.to_customer_id, r.kind): r.strength for r in rows}
    assert by_pair[(ids["SF-001"], ids["SF-002"], "referred")] == pytest.approx(0.9)
    assert by_pair[(ids["SF-002"], ids["SF-003"], "knows")] == pytest.approx(0.5)  # /crm link's default
    out, _ = _import(cli, capsys, "relationships", path)
    assert "Imported 0 relationships; 3 already there" in out
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Relationship)).one() == 3


def test_interactions_import_is_idempotent_and_moves_last_contact(cli, db, tmp_path, capsys):
    _customers(cli, tmp_path, capsys)
    path = tmp_path / "calls.csv"
    path.write_text("customer,staff,kind,direction,occurred_at,text\n"
                    "SF-001,Alice Rep,call,outbound,2026-11-20 14:30,renewal call\n"
                    "SF-001,alice@x.example,email,inbound,2026-11-21T09:00:00+08:00,thanks\n"
                    "SF-002,,note,,2026-11-19,internal note\n"
                    "SF-002,Nobody,call,outbound,2026-11-19,x\n"
                    "SF-003,Alice Rep,call,outbound,yesterday,x\n"
                    "SF-404,Alice Rep,call,outbound,2026-11-19,x\n"
                    "SF-003,Alice Rep,fax,outbound,2026-11-19,x\n", encoding="utf-8")
    out, err = _import(cli, capsys, "interactions", path)
    assert "Imported 3 interactions; 0 already there; skipped 4 bad rows." in out
    assert "line 5: staff “Nobody” is not a staff member" in err
    assert "line 6: occurred_at “yesterday” is not a date" in err
    assert "line 7: no customer “SF-404”" in err
    assert "line 8: kind “fax”" in err
    out, _ = _import(cli, capsys, "interactions", path)
    assert "Imported 0 interactions; 3 already there" in out
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Interaction)).one() == 3
        ada = s.exec(select(Customer).where(Customer.external_id == "SF-001")).one()
        assert ada.last_contact_at.isoformat() == "2026-11-21T01:00:00+00:00"  # 09:00+08:00, the newest
        bea = s.exec(select(Customer).where(Customer.external_id == "SF-002")).one()
        assert bea.last_contact_at is None  # an internal note is no contact


def test_external_id_is_unique_when_set(db):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(Customer(name="One", external_id="X-1"))
            s.add(Customer(name="Two", external_id="X-1"))
            s.flush()
    with db.session() as s:  # many customers without one
        s.add(Customer(name="Three"))
        s.add(Customer(name="Four"))
        s.flush()


def test_export_insights_per_customer(cli, db, tmp_path, capsys):
    _customers(cli, tmp_path, capsys)
    links = tmp_path / "links.csv"
    links.write_text("from,to\nSF-001,SF-002\nSF-002,SF-003\n", encoding="utf-8")
    cli(["import", "relationships", str(links)])
    assert cli(["insights", "refresh"]) == 0
    capsys.readouterr()
    assert cli(["export", "insights"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0])[:8] == ["id", "external_id", "name", "cluster", "pagerank", "betweenness",
                                 "connector_rank", "churn_risk"]
    by_ext = {r["external_id"]: r for r in rows}
    assert by_ext["SF-002"]["connector_rank"] == "1"  # the middle of the chain
    assert by_ext["SF-001"]["connector_rank"] == by_ext["SF-003"]["connector_rank"] == "2"  # a tie shares a rank
    assert cli(["export", "insights", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["external_id"] for d in data} == {"SF-001", "SF-002", "SF-003"}


def test_100k_relationships_load_quickly(db, tmp_path):
    """Bulk inserts, not per-row ORM: the issue's bar is 100,000 in under a minute on this machine."""
    from sqlalchemy import insert

    n = 20_000
    with db.engine.begin() as conn:
        conn.execute(insert(Customer.__table__), [dict(name=f"C{i}", external_id=f"E{i}", name_key=f"c{i}",
                                                       created_at=_now(), updated_at=_now()) for i in range(n)])
    path = tmp_path / "many.csv"
    lines = ["from,to,kind"] + [f"E{i},E{(i + k) % n},knows" for i in range(n) for k in (1, 2, 3, 4, 5)]
    path.write_text("\n".join(lines), encoding="utf-8")
    started = time.perf_counter()
    report = import_relationships(db, path)
    elapsed = time.perf_counter() - started
    assert report.added == 100_000 and not report.errors
    assert elapsed < 60, elapsed


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
