"""Who may do what, in one place.

Reps read every customer and change their own; managers also change their team's
customers, reassign them and run campaigns; admins may do everything, including staff
and privacy requests. Handlers call ``authorize`` and never check roles themselves.
"""
from __future__ import annotations

from sqlmodel import Session

from bot.errors import PermissionDenied
from crm.models import Customer, Staff

RANK = {"rep": 1, "manager": 2, "admin": 3}

# permission -> lowest role that holds it
MINIMUM_ROLE = {
    "crm.use": "rep",  # read customers, search, log, remind, own tasks
    "customer.edit": "rep",  # plus the ownership rule below
    "customer.reassign": "manager",
    "team.read": "manager",  # team digests and team stats
    "campaign.manage": "manager",
    "campaign.send": "manager",
    "privacy.export": "admin",
    "privacy.forget": "admin",
    "audit.read": "admin",
    "staff.manage": "admin",
}

ROLES_MATRIX_DOC = {
    "rep": "read every customer; add customers; log, remind, deal and link on own customers; own tasks",
    "manager": "as rep, on the whole team's customers; reassign owners; team digest and stats; campaigns",
    "admin": "everything: staff, privacy exports and erasure, audit trail",
}


def has(actor: Staff, permission: str) -> bool:
    need = MINIMUM_ROLE.get(permission)
    if need is None:
        raise KeyError(f"unknown permission {permission!r}")
    return actor.active and RANK.get(actor.role, 0) >= RANK[need]


def team_ids(session: Session, manager: Staff) -> set[int]:
    """The manager and everyone reporting to them, directly or not."""
    from sqlmodel import select

    rows = session.exec(select(Staff.id, Staff.manager_id)).all()
    children: dict[int | None, list[int]] = {}
    for sid, mid in rows:
        children.setdefault(mid, []).append(sid)
    team, todo = {manager.id}, [manager.id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in team:
                team.add(child)
                todo.append(child)
    return team


def may_edit_customer(session: Session, actor: Staff, customer: Customer) -> bool:
    if actor.role == "admin":
        return True
    if customer.owner_id is None or customer.owner_id == actor.id:
        return True
    if actor.role == "manager":
        return customer.owner_id in team_ids(session, actor)
    return False


def may_own(session: Session, actor: Staff, new_owner: Staff) -> bool:
    """Whom ``actor`` may make a customer's owner: themselves, their team (managers), anyone (admins)."""
    if actor.role == "admin" or new_owner.id == actor.id:
        return True
    return actor.role == "manager" and new_owner.id in team_ids(session, actor)


def authorize_owner(session: Session, actor: Staff, new_owner: Staff) -> None:
    """Giving a customer to someone else is a reassignment, within the manager's own team."""
    if new_owner.id == actor.id:
        return
    authorize(session, actor, "customer.reassign")
    if not new_owner.active:
        raise PermissionDenied("{name} is no longer active; choose an active colleague.", name=new_owner.name)
    if not may_own(session, actor, new_owner):
        raise PermissionDenied("{name} is not in your team; managers assign customers within their team. "
                               "Ask an admin to move customers between teams.", name=new_owner.name)


def authorize(session: Session, actor: Staff, permission: str, customer: Customer | None = None) -> None:
    if not has(actor, permission):
        need = MINIMUM_ROLE[permission]
        raise PermissionDenied("Sorry, that needs the {need} role; you are a {role}. Ask an admin if you need it.",
                               need=need, role=actor.role)
    if customer is not None and permission in ("customer.edit", "customer.reassign") \
            and not may_edit_customer(session, actor, customer):
        owner = session.get(Staff, customer.owner_id) if customer.owner_id else None
        if owner is None:
            raise PermissionDenied("{customer} belongs to someone else. Ask the owner or your manager.",
                                   customer=customer.name)
        if actor.role == "manager":
            raise PermissionDenied("{customer} belongs to {owner}, outside your team. Ask their manager or an admin.",
                                   customer=customer.name, owner=owner.name)
        raise PermissionDenied("{customer} belongs to {owner}; reps change their own customers. Ask the owner or "
                               "your manager.", customer=customer.name, owner=owner.name)
