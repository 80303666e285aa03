"""Staff notes waiting for Confirm (``pending_note``; the flow is handlers/note.py): every write to one.

A note's text and reading may name a customer; erasing the customer erases the notes about them.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col

from crm.models import PendingNote, Staff

KEEP = timedelta(days=30)  # decided notes and ones nobody answered: the card may be pressed late


def save_note(session: Session, *, staff: Staff, platform: str, text: str, draft: dict, now: datetime) -> PendingNote:
    """A new note waiting for Confirm (notes older than ``KEEP`` are dropped on the way)."""
    session.exec(delete(PendingNote).where(PendingNote.created_at < now - KEEP))
    note = PendingNote(staff_id=staff.id, platform=platform, text=text[:4000],
                       draft=json.dumps(draft, ensure_ascii=False), created_at=now)
    session.add(note)
    session.flush()
    return note


def set_draft(session: Session, note: PendingNote, draft: dict) -> None:
    """The reading as the author corrected it (`/crm note set`)."""
    note.draft = json.dumps(draft, ensure_ascii=False)
    session.add(note)
    session.flush()


def decide(session: Session, note: PendingNote, *, status: str, now: datetime) -> bool:
    """The claim on a note: moves it out of ``pending`` to ``status`` (confirmed or cancelled) once;
    False when another press decided it first."""
    return session.exec(update(PendingNote).where(PendingNote.id == note.id, PendingNote.status == "pending")
                        .values(status=status, decided_at=now)).rowcount == 1


def record_result(session: Session, note: PendingNote, result: dict) -> None:
    """What confirming the note stored (the interaction it became)."""
    note.result = json.dumps(result, ensure_ascii=False)
    session.add(note)


def erase_for_customer(session: Session, customer_id: int) -> None:
    """Every note whose reading chose or offered this customer (drafts are JSON written by the handler)."""
    cid = int(customer_id)
    session.exec(delete(PendingNote).where(or_(col(PendingNote.draft).contains(f'"customer_id": {cid},'),
                                               col(PendingNote.draft).contains(f"[{cid}, "))))
