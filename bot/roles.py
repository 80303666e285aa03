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


def authorize(session: Session, actor: Staff, permission: str, customer: Customer | None = None) -> None:
    if not has(actor, permission):
        need = MINIMUM_ROLE[permission]
        raise PermissionDenied(f"Sorry, that needs the {need} role; you are a {actor.role}. "
                               "Ask an admin if you need it.")
    if customer is not None and permission == "customer.edit" and not may_edit_customer(session, actor, customer):
        owner = session.get(Staff, customer.owner_id) if customer.owner_id else None
        raise PermissionDenied(f"{customer.name} belongs to {owner.name if owner else 'someone else'}; "
                               "reps change their own customers. Ask the owner or your manager.")
