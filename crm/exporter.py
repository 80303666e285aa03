"""`crm-bot export`: customers, interactions, insights or the audit trail as CSV or JSON, streamed."""
from __future__ import annotations

import csv
import json
from typing import IO

from sqlalchemy import func, select

from crm.db import Database
from crm.models import AuditEvent, Company, Customer, CustomerInsight, Interaction, Staff

QUERIES = {
    "customers": lambda: (
        select(Customer.id, Customer.name, Company.name.label("company"), Customer.email, Customer.phone,
               Customer.tier, Customer.stage, Staff.name.label("owner"), Customer.tags, Customer.language,
               Customer.telegram_username, Customer.marketing_opt_out, Customer.last_contact_at, Customer.created_at)
        .outerjoin(Company, Company.id == Customer.company_id).outerjoin(Staff, Staff.id == Customer.owner_id)
        .where(Customer.forgotten_at.is_(None)).order_by(Customer.id)),
    "interactions": lambda: (
        select(Interaction.id, Interaction.customer_id, Customer.name.label("customer"), Interaction.kind,
               Interaction.direction, Interaction.channel, Interaction.text, Interaction.occurred_at,
               Staff.name.label("staff"))
        .join(Customer, Customer.id == Interaction.customer_id).outerjoin(Staff, Staff.id == Interaction.staff_id)
        .order_by(Interaction.id)),
    # per customer, from the last insight run (empty cells for customers added since); the connector
    # rank is by betweenness, ties sharing a rank, 1 the strongest connector
    "insights": lambda: (
        select(Customer.id, Customer.external_id, Customer.name, CustomerInsight.community.label("cluster"),
               CustomerInsight.pagerank, CustomerInsight.betweenness,
               func.rank().over(order_by=CustomerInsight.betweenness.desc()).label("connector_rank"),
               CustomerInsight.risk.label("churn_risk"), CustomerInsight.computed_at)
        .outerjoin(CustomerInsight, CustomerInsight.customer_id == Customer.id)
        .where(Customer.forgotten_at.is_(None)).order_by(Customer.id)),
    "audit": lambda: (
        select(AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.platform, AuditEvent.action,
               AuditEvent.customer_id, AuditEvent.detail).order_by(AuditEvent.id)),
}


# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula
# (=HYPERLINK(…), +cmd|…, -2+3, @SUM(…); tab and CR/LF start one in some importers). Leading
# spaces do not stop LibreOffice, so they are looked through.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value):
    """A cell value a spreadsheet shows as text: strings that could start a formula get a leading
    single quote (OWASP's advice; the importer strips it again, so an export re-imports unchanged)."""
    if isinstance(value, str) and value.lstrip(" \u3000\x00").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export(db: Database, what: str, fmt: str, out: IO[str]) -> int:
    query = QUERIES[what]()
    count = 0
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        keys = list(result.keys())
        if fmt == "csv":
            writer = csv.writer(out)
            writer.writerow([spreadsheet_safe(k) for k in keys])
            for row in result:
                writer.writerow(["" if v is None else spreadsheet_safe(v.isoformat() if hasattr(v, "isoformat") else v)
                                 for v in row])
                count += 1
        else:
            out.write("[")
            for row in result:
                record = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(keys, row)}
                out.write(("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False))
                count += 1
            out.write("\n]\n")
    return count
