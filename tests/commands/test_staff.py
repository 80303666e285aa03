"""`/crm staff`: the directory for everyone; admins add, change, deactivate and reactivate colleagues."""
from __future__ import annotations

import json

from sqlmodel import select

from crm.models import Staff
from tests.helpers import audit_rows, say


def test_the_directory_lists_everyone_with_role_manager_and_customers(chat, team):
    reply = chat.push("/crm staff", as_="alice")
    lines = {item.text.split(" (#")[0]: item.text for item in reply.items}
    assert set(lines) == {"Ada Admin", "Maria Manager", "Alice Rep", "Bob Rep"}
    assert "rep" in lines["Bob Rep"] and "reports to Maria Manager" in lines["Bob Rep"]
    assert "2 customers" in lines["Bob Rep"] and "Asia/Shanghai" in lines["Bob Rep"]


def test_the_directory_reads_in_chinese_for_a_chinese_reader(chat, team):
    reply = chat.push("/crm staff", as_="bob")  # Bob's language is zh
    lines = {item.text.split(" (#")[0]: item.text for item in reply.items}
    assert "汇报给 Maria Manager" in lines["Bob Rep"] and "2 位客户" in lines["Bob Rep"]
    assert "reports to" not in reply.text + " ".join(lines.values())


def test_admin_adds_a_colleague_who_can_then_use_slack(chat, engine, db, team):
    reply = chat.push('/crm staff add "Carol Diaz" role=rep email=carol@crm.example slack=@UCAROL '
                                'timezone=Europe/Berlin manager=@maria language=zh', as_="ada")
    assert not reply.error, reply.text
    with db.session() as s:
        carol = s.exec(select(Staff).where(Staff.name == "Carol Diaz")).one()
        assert (carol.role, carol.email, carol.slack_user_id, carol.timezone, carol.manager_id, carol.language) == \
            ("rep", "carol@crm.example", "UCAROL", "Europe/Berlin", team.manager, "zh")
    assert not say(engine, "UCAROL", "/crm find glob").error
    assert [json.loads(r.detail)["name"] for r in audit_rows(db, "staff.create")] == ["Carol Diaz"]


def test_staff_add_mistakes_are_explained_and_add_nobody(chat, db, team):
    cases = {
        '/crm staff add "Carol Diaz"': "Say which role",
        '/crm staff add "Carol Diaz" role=boss': "role must be one of rep, manager, admin",
        '/crm staff add "Carol Diaz" role=rep timezone=Mars/Base': "is not a time zone",
        '/crm staff add "Carol Diaz" role=rep telegram=carol': "numeric Telegram user id",
        '/crm staff add "Carol Diaz" role=rep slack=carol': "Slack id",
        '/crm staff add "Carol Diaz" role=rep email=alice@crm.example': "already has that name, email",
        '/crm staff add "Bob Rep" role=rep': "already has that name",
        '/crm staff add "Carol Diaz" role=rep colour=blue': "I don't know the option `colour`",
        "/crm staff promote @bob": "use add, set, deactivate or activate",
    }
    for line, expected in cases.items():
        reply = chat.push(line, as_="ada")
        assert reply.error and expected in reply.text, (line, reply.text)
    with db.session() as s:
        assert len(s.exec(select(Staff)).all()) == 4
    assert audit_rows(db, "staff.create") == []


def test_admin_changes_role_and_manager(chat, db, team):
    reply = chat.push("/crm staff set @bob role=manager manager=@ada", as_="ada")
    assert not reply.error and "role=manager" in reply.text
    with db.session() as s:
        bob = s.get(Staff, team.bob)
        assert (bob.role, bob.manager_id) == ("manager", team.admin)
    assert not chat.push("/crm stats team", as_="bob").error  # the new role counts at once
    [row] = audit_rows(db, "staff.update")
    assert json.loads(row.detail)["before"] == {"role": "rep", "manager_id": team.manager}


def test_an_admin_cannot_lock_themselves_out(chat, db, team):
    assert "own admin role" in chat.push("/crm staff set @ada role=rep", as_="ada").text
    assert "cannot deactivate yourself" in chat.push("/crm staff deactivate @ada", as_="ada").text
    assert "reports to themselves" in chat.push("/crm staff set @bob manager=@bob", as_="ada").text
    with db.session() as s:
        ada = s.get(Staff, team.admin)
        assert ada.role == "admin" and ada.active
        assert s.get(Staff, team.bob).manager_id == team.manager


def test_deactivated_staff_are_refused_and_can_come_back(chat, db, team):
    reply = chat.push("/crm staff deactivate @bob", as_="ada")
    assert not reply.error and "still own 2 customers" in reply.text and "/crm assign" in reply.text
    assert reply.buttons and reply.buttons[0].command == 'staff activate "Bob Rep"'
    refused = chat.push("/crm show initech", as_="bob")
    assert refused.error and "Initech" not in refused.text
    assert not chat.push(reply.buttons[0].command, as_="ada").error
    assert not chat.push("/crm show initech", as_="bob").error


def test_reps_and_managers_cannot_manage_staff(engine, db, team):
    for user in ("UALICE", "UMARIA"):
        for line in ('/crm staff add "Eve" role=admin', "/crm staff set @alice role=admin", "/crm staff deactivate @ada"):
            reply = say(engine, user, line)
            assert reply.error and "admin role" in reply.text, (user, line)
    with db.session() as s:
        assert {(p.name, p.role, p.active) for p in s.exec(select(Staff)).all()} == {
            ("Ada Admin", "admin", True), ("Maria Manager", "manager", True), ("Alice Rep", "rep", True),
            ("Bob Rep", "rep", True)}
