"""The roles matrix, command by command and role by role (README documents the same table)."""
from __future__ import annotations

import pytest

from tests.helpers import say

# who: rep (Alice, owns Globex and Li Na), other-rep (Bob, owns Initech and 王伟), manager (Maria, manages
# both), admin (Ada). "own" = a command on Alice's customer, "other" = on Bob's.
ALLOWED = "allowed"
ROLE = "needs the"  # refused for the role
OWNER = "belongs to"  # refused for ownership

MATRIX = [
    # command                                        rep      manager  admin
    ("/crm find glob",                               ALLOWED, ALLOWED, ALLOWED),
    ("/crm show initech",                            ALLOWED, ALLOWED, ALLOWED),
    ('/crm add "New Lead"',                          ALLOWED, ALLOWED, ALLOWED),
    ('/crm add "Given Away" owner=@UBOB',            ROLE,    ALLOWED, ALLOWED),
    ("/crm log initech call talked",                 ALLOWED, ALLOWED, ALLOWED),
    ("/crm remind initech tomorrow 3pm call",        ALLOWED, ALLOWED, ALLOWED),
    ("/crm deal globex 1000",                        ALLOWED, ALLOWED, ALLOWED),
    ("/crm deal initech 1000",                       OWNER,   ALLOWED, ALLOWED),
    ("/crm link globex initech knows",               OWNER,   ALLOWED, ALLOWED),  # both ends must be own
    ("/crm link initech globex knows",               OWNER,   ALLOWED, ALLOWED),
    ("/crm tasks @UBOB",                             "your own tasks", ALLOWED, ALLOWED),
    ("/crm invite initech",                          ALLOWED, ALLOWED, ALLOWED),
    ("/crm export initech",                          ROLE,    ROLE,    ALLOWED),
    ("/crm forget initech",                          ROLE,    ROLE,    ALLOWED),
    ("/crm audit initech",                           ROLE,    ROLE,    ALLOWED),
    ("/crm assign initech @UALICE",                  ROLE,    ALLOWED, ALLOWED),
    ("/crm assign globex @UMARIA",                   ROLE,    ALLOWED, ALLOWED),
    ("/crm staff",                                   ALLOWED, ALLOWED, ALLOWED),
    ("/crm staff set @UBOB timezone=Europe/Paris",   ROLE,    ROLE,    ALLOWED),
    ('/crm staff add "Carol Diaz" role=rep',         ROLE,    ROLE,    ALLOWED),
    ("/crm stats me",                                ALLOWED, ALLOWED, ALLOWED),
    ("/crm stats team",                              ROLE,    ALLOWED, ALLOWED),
    ("/crm digest",                                  ALLOWED, ALLOWED, ALLOWED),
    ('/crm campaign new "Spring {role}" segment="tier=vip" start=2026-12-01 end=2026-12-31 budget=100 en="Hi"',
                                                     ROLE,    ALLOWED, ALLOWED),
    ("/crm next",                                    ALLOWED, ALLOWED, ALLOWED),
    ("/crm insights",                                ALLOWED, ALLOWED, ALLOWED),
]
USERS = {"rep": "UALICE", "manager": "UMARIA", "admin": "UADA"}


@pytest.mark.parametrize("line,rep,manager,admin", MATRIX, ids=[m[0] for m in MATRIX])
def test_roles_matrix(engine, team, line, rep, manager, admin):
    for role, expected in (("rep", rep), ("manager", manager), ("admin", admin)):
        reply = say(engine, USERS[role], line.format(role=role))  # {role}: a name each role creates anew
        if expected == ALLOWED:
            assert not reply.error, f"{role}: {line}: {reply.text}"
        else:
            assert reply.error and expected in reply.text, f"{role}: {line}: {reply.text}"


def test_manager_rights_stop_at_their_team(engine, db, team):
    from crm.customers import create_customer
    from crm.models import Staff

    with db.session() as s:
        other = Staff(name="Omar Othermanager", role="manager", slack_user_id="UOMAR")
        s.add(other)
        s.flush()
        create_customer(s, "Outside Account", owner=other)
    reply = say(engine, "UMARIA", '/crm deal "Outside Account" 500')
    assert reply.error and "belongs to Omar" in reply.text
    assert not say(engine, "UOMAR", '/crm deal "Outside Account" 500').error


def test_refusal_changes_nothing(engine, db, team):
    from sqlmodel import select

    from crm.models import Deal

    say(engine, "UALICE", "/crm deal initech 1000")
    with db.session() as s:
        assert s.exec(select(Deal)).all() == []
