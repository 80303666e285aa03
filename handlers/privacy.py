"""`/crm export`, `/crm forget`, `/crm audit`: privacy requests and the audit trail (admins)."""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import col, select

from bot.registry import command
from bot.replies import Button, Item, Reply
from crm.inbox.outbox import on_commit
from crm.models import AuditEvent
from crm.privacy import export_json, forget_customer


def _customer(ctx):
    tokens = [t for t in ctx.command.tokens if t.value.lower() != "confirm" or t.quoted]
    if not tokens:
        raise ctx.fail(ctx.t("Which customer?"))
    return ctx.customer(" ".join(t.value for t in tokens), quoted=tokens[0].quoted)


@command("export", usage="export <customer>", summary="everything held on a customer, as a JSON file (GDPR art. 15)",
         permission="privacy.export", group="Privacy", examples=["export globex"])
def export(ctx) -> Reply:
    customer = _customer(ctx)
    folder = Path(os.environ.get("CRM_EXPORT_DIR", "exports"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"customer-{customer.id}-{ctx.now:%Y%m%d-%H%M%S}.json"
    path.write_text(export_json(ctx.session, customer), encoding="utf-8")
    ctx.audit("privacy.export", customer)
    return Reply(text=ctx.t("Everything held on {name} (#{id}) is in the attached JSON file.", name=customer.name, id=customer.id),
                 file_path=str(path))


@command("forget", usage="forget <customer>", summary="erase a customer's personal data (GDPR art. 17), after confirming",
         permission="privacy.forget", group="Privacy", examples=["forget globex"])
def forget(ctx) -> Reply:
    customer = _customer(ctx)
    confirmed = any(t.value.lower() == "confirm" and not t.quoted for t in ctx.command.tokens)
    if not confirmed:
        return Reply(text=ctx.t("This erases {name}'s personal data and message text for good; anonymous counts stay. "
                                "Are you sure?",
                                name=customer.name),
                     buttons=[Button(ctx.t("Erase"), f"forget #{customer.id} confirm", style="danger",
                                     confirm=ctx.t("Erase this customer's personal data?"))])
    name = customer.name
    forget_customer(ctx.session, customer, actor=ctx.actor, platform=ctx.message.platform, now=ctx.now)
    messenger = ctx.ports.customer_messenger  # the Slack thread's deletion is queued: run it after commit
    if messenger is not None:
        on_commit(ctx.session, messenger.wake)
    return Reply(text=ctx.t("Erased {name}'s personal data (now “Erased customer #{id}”). The erasure is recorded in "
                            "the audit trail.", name=name, id=customer.id))


@command("audit", usage="audit <customer>", summary="who read or changed a customer, and when",
         permission="audit.read", group="Privacy", examples=["audit globex"])
def audit_trail(ctx) -> Reply:
    customer = _customer(ctx)
    rows = ctx.session.exec(select(AuditEvent).where(AuditEvent.customer_id == customer.id)
                            .order_by(col(AuditEvent.at).desc()).limit(25)).all()
    ctx.audit("audit.read", customer)
    items = []
    for e in rows:
        detail = _readable_detail(ctx, e.detail)
        items.append(Item(ctx.t("{at} · {actor} via {platform} · {action}{detail}",
                                at=ctx.fmt(e.at), actor=e.actor, platform=e.platform, action=e.action, detail=detail)))
    return Reply(text=ctx.t("Audit trail of {name} (latest {n}):",
                            name=customer.name, n=len(rows)), items=items)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_HIDDEN = {"deal_id", "task_id", "interaction_id"}  # ids the line names anyway, or that mean nothing to a reader


def _readable_value(ctx, value) -> str:
    """A stored detail value as people read it: dates in the reader's zone, numbers grouped, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return ctx.t("yes") if value else ctx.t("no")
    if isinstance(value, (int, float)):
        from crm.i18n import number

        return number(round(value, 2), ctx.lang)
    if isinstance(value, str) and _ISO.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return ctx.fmt(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    if isinstance(value, (list, tuple)):
        return " / ".join(_readable_value(ctx, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_readable_value(ctx, v)}" for k, v in value.items())
    return str(value)


def _readable_detail(ctx, raw: str | None) -> str:
    """" · amount 15,000, stage negotiation (was amount 12,000, stage proposal)" rather than a Python repr."""
    if not raw:
        return ""
    try:
        detail = json.loads(raw)
    except ValueError:
        return ""
    if not isinstance(detail, dict):
        return " · " + _readable_value(ctx, detail)[:160]
    before = detail.pop("before", None)
    parts = [f"{k.replace('_', ' ')} {_readable_value(ctx, v)}" for k, v in detail.items() if k not in _HIDDEN]
    text = ", ".join(parts)
    if before:
        was = _readable_value(ctx, before)
        text += ctx.t(" (was {w})", w=was)
    return (" · " + text[:200]) if text else ""
