"""Bulk CSV import of relationships and interactions: `crm-bot import relationships|interactions FILE.csv`.

Rules shared with the customer import: bad rows are reported by line and skipped, good rows are
kept. Each row has a natural key, so running the same file again stores nothing twice:

* relationship: (from customer, to customer, kind), the table's unique constraint; a re-run with a
  new strength updates it;
* interaction: ``("csv", id)`` in the interaction's source columns, where the id is the file's own
  ``id``/``external_id`` column when it has one, else a hash of the row's customer, staff member,
  kind, direction, time and text.

Customers are named by ``#id``, by the ``external_id`` given at customer import, or by email.
Rows are checked in Python against maps loaded once, then written with multi-row INSERTs in
chunks (Core, not one ORM object per row): 100,000 relationships load in seconds.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from crm.errors import UserError
from crm import audit
from crm.db import Database
from crm.importer import read_csv
from crm.models import Customer, Interaction, Relationship, Staff
from crm.types import utcnow

CHUNK = 5_000
SOURCE = "csv"
REL_KINDS = ("referred", "knows", "works-with")
DEFAULT_STRENGTH = {"knows": 0.5, "referred": 0.7, "works-with": 0.7}  # as `/crm link`
INTERACTION_KINDS = ("call", "email", "meeting", "chat", "note", "message")
DIRECTIONS = ("inbound", "outbound", "internal")

REL_ALIASES = {"from": "from", "from_customer": "from", "from_id": "from", "from_external_id": "from", "source": "from",
               "customer_a": "from", "a": "from", "to": "to", "to_customer": "to", "to_id": "to",
               "to_external_id": "to", "target": "to", "customer_b": "to", "b": "to", "kind": "kind", "type": "kind",
               "relationship": "kind", "strength": "strength", "weight": "weight",
               # the Chinese headers a spreadsheet in a Chinese office has (the customer import reads them too)
               "起点": "from", "来源": "from", "从": "from", "客户a": "from", "客户1": "from", "终点": "to", "目标": "to",
               "到": "to", "客户b": "to", "客户2": "to", "关系": "kind", "类型": "kind", "关系类型": "kind",
               "强度": "strength", "关系强度": "strength", "权重": "weight"}
INT_ALIASES = {"customer": "customer", "customer_id": "customer", "customer_external_id": "customer",
               "external_customer_id": "customer", "staff": "staff", "owner": "staff", "rep": "staff",
               "kind": "kind", "type": "kind", "direction": "direction", "occurred_at": "occurred_at", "date": "occurred_at",
               "time": "occurred_at", "when": "occurred_at", "at": "occurred_at", "text": "text", "notes": "text",
               "summary": "text", "subject": "text", "channel": "channel", "id": "id", "external_id": "id",
               "interaction_id": "id",
               "客户": "customer", "客户编号": "customer", "客户id": "customer", "员工": "staff", "负责人": "staff",
               "销售": "staff", "类型": "kind", "方式": "kind", "方向": "direction", "时间": "occurred_at",
               "日期": "occurred_at", "发生时间": "occurred_at", "内容": "text", "备注": "text", "摘要": "text",
               "主题": "text", "渠道": "channel", "编号": "id", "记录编号": "id", "外部编号": "id"}
# what people type in those columns, in either language (as `/crm link` and `/crm log` accept)
REL_WORDS = {"works_with": "works-with", "colleague": "works-with", "认识": "knows", "推荐": "referred",
             "介绍": "referred", "同事": "works-with"}
KIND_WORDS = {"电话": "call", "通话": "call", "邮件": "email", "会议": "meeting", "见面": "meeting", "聊天": "chat",
              "备注": "note", "消息": "message"}
DIRECTION_WORDS = {"in": "inbound", "out": "outbound", "呼出": "outbound", "外呼": "outbound", "去电": "outbound",
                   "发出": "outbound", "呼入": "inbound", "来电": "inbound", "收到": "inbound", "内部": "internal"}


def _shown(value: str, limit: int = 60) -> str:
    """A cell as quoted in a one-line problem report: whitespace (line breaks too) collapsed, clipped."""
    return " ".join(value.split())[:limit]


@dataclass
class BulkReport:
    what: str
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the run did that the file did not say

    @property
    def skipped(self) -> int:
        return len(self.errors)

    def text(self) -> str:
        extra = f", {self.updated:,} updated" if self.updated else ""
        return (f"Imported {self.added:,} {self.what}; {self.unchanged:,} already there{extra}; "
                f"skipped {self.skipped:,} bad rows." + "".join(f"\n{note}" for note in self.notes))


def _columns(header: list[str], aliases: dict[str, str], required: tuple[str, ...], what: str) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for i, raw in enumerate(header):
        key = raw.strip().lower().replace(" ", "_").replace("-", "_")
        name = aliases.get(key)
        if name and name not in mapping:
            mapping[name] = i
    missing = [c for c in required if c not in mapping]
    if missing:
        found = ", ".join(h.strip() for h in header) or "nothing"
        raise UserError("The {what} CSV needs {columns} column(s) (found: {found}).", what=what,
                        columns=" and ".join(repr(m) for m in missing), found=found)
    return mapping


class CustomerRefs:
    """`#id`, external id or email -> customer id, from maps loaded once (forgotten customers excluded)."""

    def __init__(self, conn: Connection):
        rows = conn.execute(select(Customer.id, Customer.external_id, func.lower(Customer.email))
                            .where(Customer.forgotten_at.is_(None))).all()
        self.ids = {r[0] for r in rows}
        self.external = {r[1]: r[0] for r in rows if r[1]}
        self.email = {r[2]: r[0] for r in rows if r[2]}

    def find(self, ref: str) -> int | None:
        ref = ref.strip()
        if not ref:
            return None
        if ref in self.external:
            return self.external[ref]
        if ref.startswith("#") and ref[1:].isdigit():
            value = int(ref[1:])
            return value if value in self.ids else None
        if "@" in ref:
            return self.email.get(ref.lower())
        return None


def _cells(record: list[str], columns: dict[str, int]) -> dict[str, str]:
    return {k: (record[i].strip() if i < len(record) else "") for k, i in columns.items()}


def _data_rows(rows: list[tuple[int, list[str]]], columns: dict[str, int], on_progress):
    """(line, cells by column) of every non-blank row, reporting progress every 1,000 rows and at the end."""
    total = len(rows)
    for n, (line, record) in enumerate(rows, 1):
        if on_progress and (n % 1000 == 0 or n == total):
            on_progress(n, total)
        if any(cell.strip() for cell in record):
            yield line, _cells(record, columns)


def import_relationships(db: Database, path: str | Path, *, actor_label: str = "csv import",
                         on_progress: Callable[[int, int], None] | None = None) -> BulkReport:
    header, rows, problems = read_csv(path)
    columns = _columns(header, REL_ALIASES, ("from", "to"), "relationships")
    report = BulkReport("relationships", errors=list(problems))
    scale = _weight_scale(rows, columns, report)
    now = utcnow()
    with db.engine.begin() as conn:
        refs = CustomerRefs(conn)
        existing = {(a, b, k): (rid, w) for rid, a, b, k, w in conn.execute(
            select(Relationship.id, Relationship.from_customer_id, Relationship.to_customer_id, Relationship.kind,
                   Relationship.strength)).all()}
        new: dict[tuple[int, int, str], tuple[int, float]] = {}  # -> (line, strength)
        changed: dict[int, float] = {}
        for line, row in _data_rows(rows, columns, on_progress):
            a, b = refs.find(row["from"]), refs.find(row["to"])
            kind = (row.get("kind") or "knows").lower()
            kind = REL_WORDS.get(kind, kind)
            problem = None
            if a is None or b is None:
                missing = row["from"] if a is None else row["to"]
                problem = (f"no customer “{_shown(missing)}” (name customers by #id, their external_id or email)"
                           if missing else "from and to are both needed")
            elif a == b:
                problem = "a customer cannot be related to themselves"
            elif kind not in REL_KINDS:
                problem = f"kind “{_shown(kind, 20)}” is not one of {', '.join(REL_KINDS)}"
            strength = DEFAULT_STRENGTH.get(kind, 0.5)
            if problem is None and row.get("strength"):
                try:
                    strength = float(row["strength"])
                    if not 0.0 < strength <= 1.0:
                        raise ValueError
                except ValueError:
                    problem = f"strength “{_shown(row['strength'], 20)}” must be a number above 0 and at most 1"
            elif problem is None and row.get("weight"):
                weight = _positive(row["weight"])
                if weight is None:
                    problem = f"weight “{_shown(row['weight'], 20)}” must be a number above 0"
                else:
                    strength = weight / scale
            if problem:
                report.errors.append((line, problem))
                continue
            key = (a, b, kind)
            if key in existing:
                rid, old = existing[key]
                if abs(old - strength) > 1e-9 and rid not in changed:
                    changed[rid] = strength
                    report.updated += 1
                elif rid not in changed:
                    report.unchanged += 1
            elif key in new:
                first_line, first_strength = new[key]
                if abs(first_strength - strength) > 1e-9:  # which one is right is the file's to say
                    report.errors.append((line, f"{_shown(row['from'], 40)} → {_shown(row['to'], 40)} ({kind}) is "
                                                f"already on line {first_line} with strength {first_strength:g}; "
                                                f"line {first_line} was kept"))
                else:
                    report.unchanged += 1  # the same pair twice in one file: stored once
            else:
                new[key] = (line, strength)
        values = [dict(from_customer_id=a, to_customer_id=b, kind=k, strength=w, created_at=now)
                  for (a, b, k), (_, w) in new.items()]
        for i in range(0, len(values), CHUNK):
            conn.execute(insert(Relationship.__table__), values[i:i + CHUNK])
        if changed:
            table = Relationship.__table__
            from sqlalchemy import bindparam

            conn.execute(update(table).where(table.c.id == bindparam("rid")).values(strength=bindparam("w")),
                         [dict(rid=rid, w=w) for rid, w in changed.items()])
        report.added = len(values)
    with db.session() as s:
        audit.record(s, "relationship.import", actor_label=actor_label, platform="cli", file=Path(path).name,
                     added=report.added, updated=report.updated, skipped=report.skipped)
    return report


def _positive(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0.0 < number < float("inf") else None


def _weight_scale(rows: list[tuple[int, list[str]]], columns: dict[str, int], report: BulkReport) -> float:
    """What a ``weight`` column is divided by to give strengths (0-1): 1 when every weight is within 0-1
    (they are strengths already), else the file's largest weight, so counts (co-appearances, meetings)
    keep their proportions; PageRank is unchanged by the scale. Said in the report."""
    if "weight" not in columns or "strength" in columns:
        return 1.0
    at = columns["weight"]
    weights = [w for w in (_positive(r[at]) for _, r in rows if at < len(r)) if w is not None]
    largest = max(weights, default=1.0)
    if largest <= 1.0:
        return 1.0
    report.notes.append(f"Weights were scaled to strengths (0–1) by the largest weight, {largest:g}.")
    return largest


def _when(value: str, zone: ZoneInfo) -> datetime | None:
    value = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def import_interactions(db: Database, path: str | Path, *, zone: ZoneInfo | None = None,
                        actor_label: str = "csv import",
                        on_progress: Callable[[int, int], None] | None = None) -> BulkReport:
    """Times without a zone are read in ``zone`` (the business's, CRM_TIMEZONE)."""
    zone = zone or ZoneInfo("UTC")
    header, rows, problems = read_csv(path)
    columns = _columns(header, INT_ALIASES, ("customer", "occurred_at"), "interactions")
    report = BulkReport("interactions", errors=list(problems))
    now = utcnow()
    with db.engine.begin() as conn:
        refs = CustomerRefs(conn)
        staff_rows = conn.execute(select(Staff.id, Staff.name, Staff.email, Staff.slack_user_id)).all()
        staff_refs: dict[str, int] = {}
        for sid, name, email, slack in staff_rows:
            for ref in (name, email, slack):
                if ref:
                    staff_refs.setdefault(ref.strip().lower(), sid)
        existing = set(conn.execute(select(Interaction.source_message_id)
                                    .where(Interaction.source_platform == SOURCE)).scalars())
        values: list[dict] = []
        latest: dict[int, datetime] = {}
        for line, row in _data_rows(rows, columns, on_progress):
            customer = refs.find(row["customer"])
            kind = (row.get("kind") or "note").lower()
            kind = KIND_WORDS.get(kind, kind)
            direction = (row.get("direction") or ("internal" if kind == "note" else "outbound")).lower()
            direction = DIRECTION_WORDS.get(direction, direction)
            when = _when(row["occurred_at"], zone) if row["occurred_at"] else None
            staff = None
            problem = None
            if customer is None:
                problem = (f"no customer “{_shown(row['customer'])}” (name customers by #id, their external_id or email)"
                           if row["customer"] else "customer is empty")
            elif when is None:
                problem = f"occurred_at “{_shown(row['occurred_at'], 40)}” is not a date (use 2026-11-20 or 2026-11-20 14:30)"
            elif kind not in INTERACTION_KINDS:
                problem = f"kind “{_shown(kind, 20)}” is not one of {', '.join(INTERACTION_KINDS)}"
            elif direction not in DIRECTIONS:
                problem = f"direction “{_shown(direction, 20)}” is not one of {', '.join(DIRECTIONS)}"
            elif row.get("staff"):
                staff = staff_refs.get(row["staff"].lstrip("@").lower())
                if staff is None:
                    problem = f"staff “{_shown(row['staff'], 40)}” is not a staff member"
            if problem is None and len(row.get("id", "")) > 100:
                problem = "id is longer than 100 characters"
            if problem:
                report.errors.append((line, problem))
                continue
            text = row.get("text", "")
            if row.get("id"):
                key = "id:" + row["id"]
            else:
                natural = "\x1f".join([str(customer), str(staff), kind, direction, when.isoformat(), text])
                key = "row:" + hashlib.sha256(natural.encode()).hexdigest()[:40]
            if key in existing:
                report.unchanged += 1
                continue
            existing.add(key)
            values.append(dict(customer_id=customer, staff_id=staff, kind=kind, direction=direction,
                               channel=(row.get("channel") or "import")[:16], text=text, occurred_at=when,
                               created_at=now, source_platform=SOURCE, source_message_id=key))
            if direction != "internal" and (customer not in latest or when > latest[customer]):
                latest[customer] = when
        for i in range(0, len(values), CHUNK):
            conn.execute(insert(Interaction.__table__), values[i:i + CHUNK])
        _update_last_contact(conn, latest)
        report.added = len(values)
    with db.session() as s:
        audit.record(s, "interaction.import", actor_label=actor_label, platform="cli", file=Path(path).name,
                     added=report.added, skipped=report.skipped)
    return report


def _update_last_contact(conn: Connection, latest: dict[int, datetime]) -> None:
    """Customers' last contact moves forward to the newest imported interaction, never back."""
    if not latest:
        return
    current = {}
    ids = list(latest)
    for i in range(0, len(ids), CHUNK):
        current.update(conn.execute(select(Customer.id, Customer.last_contact_at)
                                    .where(Customer.id.in_(ids[i:i + CHUNK]))).all())
    moved = [dict(cid=c, at=at) for c, at in latest.items() if current.get(c) is None or at > current[c]]
    if moved:
        from sqlalchemy import bindparam

        table = Customer.__table__
        conn.execute(update(table).where(table.c.id == bindparam("cid")).values(last_contact_at=bindparam("at")),
                     moved)
