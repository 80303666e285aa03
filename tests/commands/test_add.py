"""`/crm add`: a new customer with options; bad options change nothing; ownership by role."""
from __future__ import annotations

from sqlmodel import select
import pytest

from crm.models import AuditEvent, Customer, Staff
from tests.helpers import count


def test_add_customer_with_options(chat, db, team):
    reply = chat.push('/crm add "Umbrella Corp" email=ceo@umbrella.example phone="+1 555 0100" '
                                  'company=Umbrella tier=gold tags=renewal,enterprise', as_="alice")
    assert not reply.error, reply.text
    assert "Umbrella Corp" in reply.text and "Alice Rep" in reply.text
    with db.session() as s:
        c = s.exec(select(Customer).where(Customer.name == "Umbrella Corp")).one()
        assert (c.email, c.tier, c.owner_id, c.phone_key) == ("ceo@umbrella.example", "gold", team.alice, "15550100")
    assert count(db, AuditEvent, AuditEvent.action == "customer.create") == 1


@pytest.mark.parametrize("line,fragment", [
    ("/crm add", "name"),
    ("/crm add Foo tier=platinum", "Tier must be one of"),
    ("/crm add Foo stage=dead", "Stage must be one of"),
    ("/crm add Foo email=not-an-email", "not an email address"),
    ("/crm add Foo colour=red", "I don't know the option `colour`"),
    ('/crm add "Foo Bar', "never closed"),
    ("/crm add Foo owner=@nobody", "No colleague"),
])
def test_add_bad_input_changes_nothing(chat, line, fragment):
    reply = chat.refuses(line, fragment)
    assert reply.usage is None or reply.usage.startswith("add")


def test_rep_cannot_give_customer_to_someone_else_but_manager_can(chat, db, team):
    assert "manager role" in chat.push("/crm add Foo owner=@UBOB", as_="alice").text
    reply = chat.push("/crm add Foo owner=@UBOB", as_="maria")
    assert not reply.error
    with db.session() as s:
        assert s.exec(select(Customer).where(Customer.name == "Foo")).one().owner_id == team.bob


def test_adding_a_customer_for_someone_outside_the_team_is_refused(chat, db, team):
    with db.session() as s:
        s.add(Staff(name="Omar Other", role="manager", slack_user_id="UOMAR"))
    reply = chat.push('/crm add "Fresh Lead" owner=@omar', as_="maria")
    assert reply.error and "not in your team" in reply.text
    with db.session() as s:
        assert s.exec(select(Customer).where(Customer.name == "Fresh Lead")).first() is None
