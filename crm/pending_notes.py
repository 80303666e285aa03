"""Staff notes waiting for Confirm (``pending_note``; the flow is handlers/note.py).

A note's text and reading may name a customer; erasing the customer erases the notes about them.
"""
from __future__ import annotations

from sqlalchemy import delete, or_
from sqlmodel import Session, col

from crm.models import PendingNote


def erase_for_customer(session: Session, customer_id: int) -> None:
    """Every note whose reading chose or offered this customer (drafts are JSON written by the handler)."""
    cid = int(customer_id)
    session.exec(delete(PendingNote).where(or_(col(PendingNote.draft).contains(f'"customer_id": {cid},'),
                                               col(PendingNote.draft).contains(f"[{cid}, "))))
