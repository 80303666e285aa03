"""Small, known data for tests, and a one-liner to run a command as someone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from bot.messages import IncomingMessage
from crm.customers import create_customer
from crm.models import Staff


@dataclass
class Team:
    admin: int
    manager: int
    alice: int
    bob: int
    globex: int
    initech: int
    wang: int
    li: int


def make_team(db) -> Team:
    """Ada (admin); Maria (manager) with reps Alice and Bob; four customers."""
    with db.session() as s:
        ada = Staff(name="Ada Admin", role="admin", email="ada@crm.example", slack_user_id="UADA",
                    timezone="UTC")
        maria = Staff(name="Maria Manager", role="manager", email="maria@crm.example", slack_user_id="UMARIA",
                      timezone="Europe/London")
        s.add_all([ada, maria])
        s.flush()
        alice = Staff(name="Alice Rep", role="rep", email="alice@crm.example", slack_user_id="UALICE",
                      manager_id=maria.id, timezone="America/New_York", telegram_user_id=5001)
        bob = Staff(name="Bob Rep", role="rep", email="bob@crm.example", slack_user_id="UBOB",
                    manager_id=maria.id, timezone="Asia/Shanghai", language="zh")
        s.add_all([alice, bob])
        s.flush()
        globex = create_customer(s, "Globex Corporation", company="Globex", email="ops@globex.example",
                                 phone="+1 555 010 2000", tier="vip", stage="active", owner=alice)
        initech = create_customer(s, "Initech", company="Initech", email="peter@initech.example", owner=bob)
        wang = create_customer(s, "王伟", company="华为技术", email="wang.wei@huawei.example", phone="+86 138 0000 0001",
                               owner=bob, language="zh")
        li = create_customer(s, "Li Na", company="Globex", email="li.na@globex.example", owner=alice)
        return Team(ada.id, maria.id, alice.id, bob.id, globex.id, initech.id, wang.id, li.id)


def say(engine, slack_user: str, text: str, platform: str = "slack", **kw):
    """Run a `/crm` line as a Slack user id (or console name) through the whole engine."""
    return engine.handle(IncomingMessage(platform=platform, user_id=slack_user, text=text, **kw))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def count(db, model, *conds) -> int:
    """Rows of ``model`` (matching ``conds``)."""
    from sqlmodel import select

    with db.session() as s:
        return len(s.exec(select(model).where(*conds)).all())


def snapshot(db) -> dict:
    """Row counts of every table a command could change (bad input must change none)."""
    from crm.models import Customer, Deal, Interaction, InviteToken, Relationship, Task

    return {m.__name__: count(db, m) for m in (Customer, Interaction, Task, Deal, Relationship, InviteToken)}


def owner_of(db, customer_id: int) -> int | None:
    from crm.models import Customer

    with db.session() as s:
        return s.get(Customer, customer_id).owner_id


def audit_rows(db, action: str) -> list:
    """The audit events of one action, oldest first."""
    from sqlmodel import select

    from crm.models import AuditEvent

    with db.session() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
