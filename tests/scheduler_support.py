"""Running the real scheduler in a test: an App with a recording delivery channel."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from bot.app import App
from bot.replies import Reply
from crm.models import Staff
from scheduler.service import SchedulerService

FAST_PASS = 0.05  # seconds between scheduler passes in tests


@dataclass
class Inbox:
    """A delivery channel (what Slack would show each person). The next ``fail_next`` sends
    (to ``failing`` only, when named) raise instead."""

    fail_next: int = 0
    failing: str | None = None
    received: list[tuple[str, Reply]] = field(default_factory=list)
    failures: int = 0

    async def __call__(self, staff: Staff, reply: Reply) -> None:
        if self.fail_next and self.failing in (None, staff.name):
            self.fail_next -= 1
            self.failures += 1
            raise ConnectionError("Slack is unreachable")
        self.received.append((staff.name, reply))

    def to(self, name: str) -> list[Reply]:
        return [r for who, r in self.received if who == name]

    def reminders(self, name: str | None = None) -> list[Reply]:
        return [r for who, r in self.received if r.text.startswith("⏰") and (name is None or who == name)]

    def digests(self, name: str | None = None) -> list[Reply]:
        return [r for who, r in self.received if r.text.startswith("☀️") and (name is None or who == name)]

    def overdue_notices(self, name: str | None = None) -> list[Reply]:
        return [r for who, r in self.received if r.text.startswith("🔔") and (name is None or who == name)]


@contextlib.asynccontextmanager
async def running(settings, db, inbox: Inbox, *, clock=None, instance: str = "test-a", platform: str = "slack"):
    """`crm-bot run`'s scheduler, started the way App.start does, with fast passes."""
    app = App(settings, db, clock=clock, instance=instance)
    app.delivery.register(platform, inbox)
    app.scheduler = SchedulerService(app, pass_seconds=FAST_PASS)
    await app.start()
    try:
        await app.scheduler.next_pass()
        yield app
    finally:
        await app.stop()


async def at(app, clock, moment) -> None:
    """Move the clock and wait for a scheduler pass that sees the new time."""
    clock.now = moment
    await app.scheduler.next_pass()
