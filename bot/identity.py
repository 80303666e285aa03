"""Maps a platform user to a staff member. Unknown people get no CRM data."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession, attributes, make_transient_to_detached
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


# ---- the staff cache --------------------------------------------------------------------------------

# How long another process's change to a staff row (another instance, `crm-bot staff …`) may go unseen
# here. A change made by this process is seen at once: every write to a staff row invalidates the cache.
STAFF_CACHE_SECONDS = 2.0

_generation = 0  # moves on every write to a staff row in this process; entries of older ones are stale
_generation_lock = threading.Lock()


def _staff_changed(session=None) -> None:
    global _generation
    with _generation_lock:
        _generation += 1
    if session is not None:
        session.info["crm_staff_changed"] = True  # invalidated again when that write commits


@event.listens_for(Staff, "after_insert")
@event.listens_for(Staff, "after_update")
@event.listens_for(Staff, "after_delete")
def _staff_row_flushed(_mapper, _connection, target) -> None:
    _staff_changed(OrmSession.object_session(target))


@event.listens_for(OrmSession, "do_orm_execute")
def _staff_bulk_write(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is Staff:
        _staff_changed(state.session)


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _staff_write_ended(session) -> None:
    # an entry read while the write was uncommitted (the old row) is stale from its commit on
    if session.info.pop("crm_staff_changed", False):
        _staff_changed()


@dataclass(frozen=True)
class _Entry:
    columns: dict
    generation: int
    until: float


class StaffCache:
    """Who a platform user is, remembered between commands: a command's actor is attached to its
    session from the cached columns instead of being read again (the one SELECT every command paid).

    Safe against staff changes: any write to a staff row in this process (ORM flush or bulk
    UPDATE/DELETE) invalidates every entry, at the write and again at its commit, and an entry
    read before a change committed is never stored as current. Other processes' changes (another
    instance, the CLI) are seen within ``STAFF_CACHE_SECONDS``. Only active staff are cached: an
    unknown or deactivated user is looked up every time."""

    def __init__(self, seconds: float = STAFF_CACHE_SECONDS):
        self.seconds = seconds
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._columns = [c.key for c in Staff.__mapper__.column_attrs]

    def find(self, session: Session, platform: str, user_id: str) -> Staff | None:
        key = (platform, str(user_id))
        entry = self._entries.get(key)
        if entry is not None and entry.generation == _generation and entry.until > time.monotonic():
            return self._attach(session, entry.columns)
        generation = _generation  # before the read: a change committed meanwhile makes the entry stale
        staff = find_staff(session, platform, user_id)
        if staff is None:
            self._entries.pop(key, None)
        elif not session.info.get("crm_staff_changed"):  # not this session's own uncommitted change
            self._entries[key] = _Entry({name: getattr(staff, name) for name in self._columns}, generation,
                                        time.monotonic() + self.seconds)
        return staff

    def _attach(self, session: Session, columns: dict) -> Staff:
        """The staff member as a persistent instance of ``session``, as if just loaded (no SQL)."""
        loaded = session.identity_map.get(Staff.__mapper__.identity_key_from_primary_key([columns["id"]]))
        if loaded is not None:
            return loaded
        staff = Staff.__mapper__.class_manager.new_instance()
        for name, value in columns.items():
            attributes.set_committed_value(staff, name, value)
        make_transient_to_detached(staff)
        session.add(staff)
        return staff
