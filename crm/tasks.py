"""Follow-up tasks: every write to a task, its reminder state included.

A task's reminder is claimed through ``REMINDER`` (a lease on ``reminded_at`` /
``next_attempt_at``, see scheduler/reminders.py for the states). Changing when a task is due
puts its reminder back to *waiting*, so the new time is reminded once, whatever happened before.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from crm.claims import Lease
from crm.models import Customer, Staff, Task

# reminded_at names a claim, next_attempt_at is when it lapses (and, after a failure, when the retry
# is due). Five minutes is far longer than one send may take (scheduler/reminders.py SEND_TIMEOUT).
REMINDER = Lease(timedelta(minutes=5), stamp=Task.reminded_at, expires=Task.next_attempt_at)


def create_task(session: Session, *, customer: Customer | None, owner: Staff, created_by: Staff, title: str,
                due_at: datetime, now: datetime | None = None) -> Task:
    task = Task(customer_id=customer.id if customer else None, owner_id=owner.id, created_by_id=created_by.id,
                title=title[:500], due_at=due_at)
    if now is not None:
        task.created_at = now
    session.add(task)
    session.flush()
    return task


def complete_task(session: Session, task: Task, *, now: datetime) -> bool:
    """Marks it done; False when it already was."""
    if task.status == "done":
        return False
    task.status, task.done_at = "done", now
    session.add(task)
    return True


def reschedule_task(session: Session, task: Task, *, due_at: datetime) -> None:
    """A new due time (a snooze): the reminder waits for it afresh, attempts forgotten."""
    task.due_at, task.reminded_at, task.reminder_attempts, task.next_attempt_at = due_at, None, 0, None
    session.add(task)
