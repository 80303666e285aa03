"""Adding and changing staff: the one place a staff row is written (the `/crm staff` command and
`crm-bot staff add` both come here)."""
from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm.errors import UserError
from crm.i18n import N_
from crm.models import Staff

TAKEN = N_("Another staff member already has that name, email, Slack id or Telegram id.")


def save_staff(session: Session, person: Staff, values: dict) -> Staff:
    """Applies checked column ``values`` to ``person`` (new or existing); a clash with a colleague's
    name, email, Slack or Telegram id changes nothing and is a UserError."""
    for key, value in values.items():
        setattr(person, key, value)
    session.add(person)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise UserError(TAKEN) from None
    return person


def add_staff(session: Session, *, name: str, timezone: str, values: dict) -> Staff:
    return save_staff(session, Staff(name=name.strip(), timezone=timezone), values)


def set_active(session: Session, person: Staff, active: bool) -> None:
    """(De)activates a colleague; the last active admin cannot be deactivated."""
    if not active and person.role == "admin" and person.active:
        admins = session.exec(select(func.count()).select_from(Staff).where(
            Staff.role == "admin", col(Staff.active).is_(True))).one()
        if admins <= 1:
            raise UserError("That is the last active admin; make someone else admin first.")
    person.active = active
    session.add(person)


def set_digest_subscription(session: Session, person: Staff, subscribed: bool) -> None:
    """Whether ``person`` gets the daily digest (managers always do; the caller says so)."""
    person.digest_subscribed = subscribed
    session.add(person)
