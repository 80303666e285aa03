"""`crm-bot digest [--manager NAME] [--print]`: build a digest now, and print it or send it.

Sending through the CLI takes today's digest run like the scheduler does, so the scheduled
digest does not follow a manual one on the same day. Part of the command line (it composes an App
and its adapters to send), so it lives beside bot/cli.py.
"""
from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from rich.console import Console
from sqlmodel import select

from bot.app import App
from bot.errors import UserError
from bot.voice import Voice
from crm.customers import resolve_staff
from crm.models import Staff
from crm.types import utcnow
from handlers.digest.build import build_digest
from integrations.console import render
from scheduler.digest_runs import claim_run, finish_run


def _fail(message: str) -> int:
    print(f"crm-bot digest: {message}", file=sys.stderr)
    return 2


def _recipients(db, manager: str | None) -> list[tuple[Staff, str]]:
    with db.session() as s:
        if manager:
            staff = resolve_staff(s, manager)
            return [(staff, "personal" if staff.role == "rep" else "manager")]
        managers = s.exec(select(Staff).where(Staff.role == "manager", Staff.active == True)  # noqa: E712
                          .order_by(Staff.name)).all()
        return [(m, "manager") for m in managers]


def run_digest_command(settings, db, manager: str | None, print_only: bool, *, now: datetime | None = None,
                       console: Console | None = None) -> int:
    try:
        targets = _recipients(db, manager)
    except UserError as err:
        return _fail(err.message.replace("`", ""))
    if not targets:
        return _fail("there are no managers yet; add one with `crm-bot staff add --name N --role manager`.")
    now = now or utcnow()
    if print_only:
        return _print(settings, db, targets, now, console or Console())
    return asyncio.run(_send(settings, db, targets, now))


def _build(db, settings, staff: Staff, kind: str, now: datetime):
    with db.session() as s:
        return build_digest(s, staff, kind, Voice(staff, settings, now))


def _print(settings, db, targets, now: datetime, console: Console) -> int:
    for staff, kind in targets:
        reply = _build(db, settings, staff, kind, now)
        title = f"{'Team' if kind == 'manager' else 'Personal'} digest for {staff.name}"
        console.print(title, style="bold", markup=False, highlight=False)
        console.print(render(reply))
        # one unwrapped line, so the path can be copied (or read by scripts)
        console.print(f"Chart: {reply.image_path}", soft_wrap=True, markup=False, highlight=False)
    return 0


async def _send(settings, db, targets, now: datetime) -> int:
    app = App(settings, db, clock=lambda: now, instance="crm-bot digest")
    app.configure_adapters()
    if not app.adapters:
        return _fail("no Slack or Telegram credentials are configured (SLACK_BOT_TOKEN, TELEGRAM_BOT_TOKEN); "
                     "use --print to see the digest here.")
    failures = 0
    for adapter in app.adapters:
        await adapter.start()
    try:
        for staff, kind in targets:
            voice = Voice(staff, settings, now)
            claim = await asyncio.to_thread(claim_run, db, staff.id, voice.today, kind, instance=app.instance, now=now)
            try:
                reply = await asyncio.to_thread(_build, db, settings, staff, kind, now)
                platform = await app.delivery.to_staff(staff, reply)
            except Exception as exc:
                failures += 1
                print(f"crm-bot digest: could not send {staff.name}'s digest: {exc}", file=sys.stderr)
                if claim is not None:
                    await asyncio.to_thread(finish_run, db, claim, now=now, status="failed", error=str(exc))
                continue
            if claim is not None:
                await asyncio.to_thread(finish_run, db, claim, now=now, status="sent")
            again = "" if claim is not None else " (an extra copy: today's digest was already sent or being sent)"
            print(f"Sent {staff.name}'s digest via {platform}{again}.")
    finally:
        for adapter in reversed(app.adapters):
            await adapter.stop()
    return 1 if failures else 0
