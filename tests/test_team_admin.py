"""`/crm assign` (managers within their team, admins anyone) and `/crm staff` (the directory; admins manage)."""
from __future__ import annotations

import json

from sqlmodel import select

from crm.customers import create_customer
from crm.models import AuditEvent, Customer, Staff
from tests.helpers import say


def owner_of(db, customer_id: int) -> int | None:
    with db.session() as s:
        return s.get(Customer, customer_id).owner_id


def audit_rows(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


# ---- assign ---------------------------------------------------------------------------------------

def test_manager_reassigns_within_the_team_and_it_is_audited(engine, db, team):
    reply = say(engine, "UMARIA", "/crm assign initech @alice")
    assert not reply.error and "Alice Rep" in reply.text and "was Bob Rep" in reply.text
    assert owner_of(db, team.initech) == team.alice
    [row] = audit_rows(db, "customer.reassign")
    assert row.customer_id == team.initech and row.platform == "slack"
    assert json.loads(row.detail) == {"from_owner": "Bob Rep", "to_owner": "Alice Rep"}


def test_a_rep_cannot_reassign_even_their_own_customer(engine, db, team):
    reply = say(engine, "UALICE", "/crm assign globex @bob")
    assert reply.error and "manager role" in reply.text
    assert owner_of(db, team.globex) == team.alice and audit_rows(db, "customer.reassign") == []


def test_manager_cannot_move_customers_across_teams_admin_can(engine, db, team):
    with db.session() as s:
        omar = Staff(name="Omar Other", role="manager", slack_user_id="UOMAR")
        s.add(omar)
        s.flush()
        outside = create_customer(s, "Outside Account", owner=omar).id
        omar_id = omar.id
    into_other_team = say(engine, "UMARIA", "/crm assign globex @omar")
    assert into_other_team.error and "not in your team" in into_other_team.text
    from_other_team = say(engine, "UMARIA", '/crm assign "Outside Account" @alice')
    assert from_other_team.error and "outside your team" in from_other_team.text
    assert owner_of(db, team.globex) == team.alice and owner_of(db, outside) == omar_id
    assert not say(engine, "UADA", '/crm assign "Outside Account" @alice').error
    assert owner_of(db, outside) == team.alice


def test_adding_a_customer_for_someone_outside_the_team_is_refused(engine, db, team):
    with db.session() as s:
        s.add(Staff(name="Omar Other", role="manager", slack_user_id="UOMAR"))
    reply = say(engine, "UMARIA", '/crm add "Fresh Lead" owner=@omar')
    assert reply.error and "not in your team" in reply.text
    with db.session() as s:
        assert s.exec(select(Customer).where(Customer.name == "Fresh Lead")).first() is None


def test_assign_bad_input_explains_and_changes_nothing(engine, db, team):
    missing = say(engine, "UMARIA", "/crm assign initech")
    assert missing.error and "/crm assign globex @bob" in missing.text and missing.usage
    nobody = say(engine, "UMARIA", "/crm assign initech @zed")
    assert nobody.error and "No colleague called “zed”" in nobody.text
    same = say(engine, "UMARIA", "/crm assign initech @bob")
    assert not same.error and "already owns" in same.text
    chinese = say(engine, "UMARIA", "/crm assign 王伟 @alice")
    assert not chinese.error and "now belongs to Alice Rep" in chinese.text  # Maria reads English, whatever she types
    assert owner_of(db, team.initech) == team.bob
    assert len(audit_rows(db, "customer.reassign")) == 1  # only the 王伟 move


# ---- staff ----------------------------------------------------------------------------------------

def test_the_directory_lists_everyone_with_role_manager_and_customers(engine, team):
    reply = say(engine, "UBOB", "/crm staff")
    lines = {item.text.split(" (#")[0]: item.text for item in reply.items}
    assert set(lines) == {"Ada Admin", "Maria Manager", "Alice Rep", "Bob Rep"}
    assert "rep" in lines["Bob Rep"] and "reports to Maria Manager" in lines["Bob Rep"]
    assert "2 customers" in lines["Bob Rep"] and "Asia/Shanghai" in lines["Bob Rep"]


def test_admin_adds_a_colleague_who_can_then_use_slack(engine, db, team):
    reply = say(engine, "UADA", '/crm staff add "Carol Diaz" role=rep email=carol@crm.example slack=@UCAROL '
                                'timezone=Europe/Berlin manager=@maria language=zh')
    assert not reply.error, reply.text
    with db.session() as s:
        carol = s.exec(select(Staff).where(Staff.name == "Carol Diaz")).one()
        assert (carol.role, carol.email, carol.slack_user_id, carol.timezone, carol.manager_id, carol.language) == \
            ("rep", "carol@crm.example", "UCAROL", "Europe/Berlin", team.manager, "zh")
    assert not say(engine, "UCAROL", "/crm find glob").error
    assert [json.loads(r.detail)["name"] for r in audit_rows(db, "staff.create")] == ["Carol Diaz"]


def test_staff_add_mistakes_are_explained_and_add_nobody(engine, db, team):
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
        reply = say(engine, "UADA", line)
        assert reply.error and expected in reply.text, (line, reply.text)
    with db.session() as s:
        assert len(s.exec(select(Staff)).all()) == 4
    assert audit_rows(db, "staff.create") == []


def test_admin_changes_role_and_manager(engine, db, team):
    reply = say(engine, "UADA", "/crm staff set @bob role=manager manager=@ada")
    assert not reply.error and "role=manager" in reply.text
    with db.session() as s:
        bob = s.get(Staff, team.bob)
        assert (bob.role, bob.manager_id) == ("manager", team.admin)
    assert not say(engine, "UBOB", "/crm stats team").error  # the new role counts at once
    [row] = audit_rows(db, "staff.update")
    assert json.loads(row.detail)["before"] == {"role": "rep", "manager_id": team.manager}


def test_an_admin_cannot_lock_themselves_out(engine, db, team):
    assert "own admin role" in say(engine, "UADA", "/crm staff set @ada role=rep").text
    assert "cannot deactivate yourself" in say(engine, "UADA", "/crm staff deactivate @ada").text
    assert "reports to themselves" in say(engine, "UADA", "/crm staff set @bob manager=@bob").text
    with db.session() as s:
        ada = s.get(Staff, team.admin)
        assert ada.role == "admin" and ada.active
        assert s.get(Staff, team.bob).manager_id == team.manager


def test_deactivated_staff_are_refused_and_can_come_back(engine, db, team):
    reply = say(engine, "UADA", "/crm staff deactivate @bob")
    assert not reply.error and "still own 2 customers" in reply.text and "/crm assign" in reply.text
    assert reply.buttons and reply.buttons[0].command == 'staff activate "Bob Rep"'
    refused = say(engine, "UBOB", "/crm show initech")
    assert refused.error and "Initech" not in refused.text
    assert not say(engine, "UADA", reply.buttons[0].command).error
    assert not say(engine, "UBOB", "/crm show initech").error


def test_reps_and_managers_cannot_manage_staff(engine, db, team):
    for user in ("UALICE", "UMARIA"):
        for line in ('/crm staff add "Eve" role=admin', "/crm staff set @alice role=admin", "/crm staff deactivate @ada"):
            reply = say(engine, user, line)
            assert reply.error and "admin role" in reply.text, (user, line)
    with db.session() as s:
        assert {(p.name, p.role, p.active) for p in s.exec(select(Staff)).all()} == {
            ("Ada Admin", "admin", True), ("Maria Manager", "manager", True), ("Alice Rep", "rep", True),
            ("Bob Rep", "rep", True)}
