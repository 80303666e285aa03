"""`/crm assign`: managers move customers within their team, admins anywhere; audited."""
from __future__ import annotations

import json

from crm.customers import create_customer
from crm.models import Staff
from tests.helpers import audit_rows, owner_of


def test_manager_reassigns_within_the_team_and_it_is_audited(chat, db, team):
    reply = chat.push("/crm assign initech @alice", as_="maria")
    assert not reply.error and "Alice Rep" in reply.text and "was Bob Rep" in reply.text
    assert owner_of(db, team.initech) == team.alice
    [row] = audit_rows(db, "customer.reassign")
    assert row.customer_id == team.initech and row.platform == "slack"
    assert json.loads(row.detail) == {"from_owner": "Bob Rep", "to_owner": "Alice Rep"}


def test_a_rep_cannot_reassign_even_their_own_customer(chat, db, team):
    reply = chat.push("/crm assign globex @bob", as_="alice")
    assert reply.error and "manager role" in reply.text
    assert owner_of(db, team.globex) == team.alice and audit_rows(db, "customer.reassign") == []


def test_manager_cannot_move_customers_across_teams_admin_can(chat, db, team):
    with db.session() as s:
        omar = Staff(name="Omar Other", role="manager", slack_user_id="UOMAR")
        s.add(omar)
        s.flush()
        outside = create_customer(s, "Outside Account", owner=omar).id
        omar_id = omar.id
    into_other_team = chat.push("/crm assign globex @omar", as_="maria")
    assert into_other_team.error and "not in your team" in into_other_team.text
    from_other_team = chat.push('/crm assign "Outside Account" @alice', as_="maria")
    assert from_other_team.error and "outside your team" in from_other_team.text
    assert owner_of(db, team.globex) == team.alice and owner_of(db, outside) == omar_id
    assert not chat.push('/crm assign "Outside Account" @alice', as_="ada").error
    assert owner_of(db, outside) == team.alice


def test_assign_bad_input_explains_and_changes_nothing(chat, db, team):
    missing = chat.push("/crm assign initech", as_="maria")
    assert missing.error and "/crm assign globex @bob" in missing.text and missing.usage
    nobody = chat.push("/crm assign initech @zed", as_="maria")
    assert nobody.error and "No colleague called “zed”" in nobody.text
    same = chat.push("/crm assign initech @bob", as_="maria")
    assert not same.error and "already owns" in same.text
    chinese = chat.push("/crm assign 王伟 @alice", as_="maria")
    assert not chinese.error and "now belongs to Alice Rep" in chinese.text  # Maria reads English, whatever she types
    assert owner_of(db, team.initech) == team.bob
    assert len(audit_rows(db, "customer.reassign")) == 1  # only the 王伟 move
