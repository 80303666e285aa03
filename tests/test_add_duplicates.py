"""`/crm add` refuses a likely duplicate, with the existing record and a way to add anyway; the CSV
import reports the duplicates it skipped by line (issue 15)."""
from __future__ import annotations

from sqlmodel import func, select

from crm.models import Customer
from tests.helpers import say


def _count(db) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(Customer)).one()


def test_same_email_is_refused_with_the_existing_record(engine, db, team):
    before = _count(db)
    reply = say(engine, "UALICE", '/crm add "Globex Corporation" email=OPS@globex.example company=Globex')
    assert reply.error and f"#{team.globex}" in reply.text and "same email" in reply.text
    assert _count(db) == before
    assert ("Email", "ops@globex.example") in reply.fields  # the existing card
    commands = [b.command for b in reply.buttons]
    assert f"show #{team.globex}" in commands
    anyway = next(b for b in reply.buttons if "force=yes" in b.command)
    added = say(engine, "UALICE", anyway.command)
    assert not added.error, added.text
    assert _count(db) == before + 1


def test_same_phone_in_another_format_is_a_duplicate(engine, db, team):
    reply = say(engine, "UBOB", '/crm add "W. Wang" phone=+86-138-0000-0001')
    assert reply.error and f"#{team.wang}" in reply.text


def test_near_identical_name_at_the_same_company(engine, db, team):
    reply = say(engine, "UALICE", '/crm add "Globex Corporation." company=globex')
    assert reply.error and f"#{team.globex}" in reply.text
    reply = say(engine, "UALICE", '/crm add "Li  na" company=Globex')
    assert reply.error and f"#{team.li}" in reply.text


def test_same_name_at_another_company_is_not_a_duplicate(engine, db, team):
    reply = say(engine, "UALICE", '/crm add "Li Na" company=Initech email=li.na@initech.example')
    assert not reply.error, reply.text


def test_chinese_reader_gets_chinese_buttons(engine, team):
    reply = say(engine, "UBOB", '/crm add 王伟 company=华为技术')
    assert reply.error and [b.label for b in reply.buttons] == ["查看", "仍然新建"]


def test_a_number_is_not_a_name(engine, db, team):
    before = _count(db)
    reply = say(engine, "UALICE", "/crm add 12345")
    assert reply.error and "does not look like a name" in reply.text
    assert _count(db) == before


def test_import_reports_duplicates_by_line(db, team, tmp_path):
    from crm.importer import import_customers

    path = tmp_path / "c.csv"
    path.write_text("name,company,email,phone\n"
                    "Fresh Person,Newco,fresh@newco.example,\n"
                    "GLOBEX  corporation,Globex,,\n"
                    "Somebody,,,+1 (555) 010-2000\n"
                    "Fresh  person,Newco,,\n", encoding="utf-8")
    report = import_customers(db, path)
    assert report.imported == 1
    lines = dict(report.duplicates)
    assert set(lines) == {3, 4, 5}
    assert f"#{team.globex} Globex Corporation" in lines[3] and "same phone" in lines[4]
    assert "Fresh Person" in lines[5]


def test_unquoted_phone_with_spaces_is_the_phone_not_the_name(engine, db, team):
    reply = say(engine, "UALICE", '/crm add "Acme Robotics" phone=+1 555 0199 company=Acme')
    assert not reply.error and reply.text.startswith("Added Acme Robotics (#"), reply.text
    with db.session() as s:
        acme = s.exec(select(Customer).where(Customer.name == "Acme Robotics")).one()
    assert acme.phone == "+1 555 0199"
