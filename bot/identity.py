"""Maps a platform user to a staff member. Unknown people get no CRM data."""
from __future__ import annotations

from sqlmodel import Session, func, select

from crm.models import Staff


def find_staff(session: Session, platform: str, user_id: str) -> Staff | None:
    if platform == "slack":
        stmt = select(Staff).where(Staff.slack_user_id == user_id)
    elif platform == "telegram":
        if not str(user_id).lstrip("-").isdigit():
            return None
        stmt = select(Staff).where(Staff.telegram_user_id == int(user_id))
    elif platform == "console":
        stmt = select(Staff).where(func.lower(Staff.name) == str(user_id).lower())
    else:
        return None
    staff = session.exec(stmt).first()
    return staff if staff and staff.active else None


def link_by_email(session: Session, platform: str, user_id: str, email: str | None) -> Staff | None:
    """Links a Slack user to the staff member added with only their email (HubSpot-style)."""
    if platform != "slack" or not email:
        return None
    staff = session.exec(select(Staff).where(func.lower(Staff.email) == email.strip().lower())).first()
    if staff is None or not staff.active or staff.slack_user_id not in (None, user_id):
        return None
    staff.slack_user_id = user_id
    session.add(staff)
    session.flush()
    return staff
