"""`crm-bot export`: customers, interactions, insights or the audit trail as CSV or JSON, streamed."""
from __future__ import annotations

import csv
import json
from typing import IO

import numpy as np
from sqlalchemy import literal, select

from crm.insights.centrality import competition_rank
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
    # rank (by betweenness, ties sharing a rank, 1 the strongest connector) is filled in by ``export``
    "insights": lambda: (
        select(Customer.id, Customer.external_id, Customer.name, CustomerInsight.community.label("cluster"),
               CustomerInsight.pagerank, CustomerInsight.betweenness, literal(None).label("connector_rank"),
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


class ConnectorRanks:
    """Customer id -> connector rank, with the insight job's own tie rule (``competition_rank``): SQL's
    ``rank()`` compares floats exactly, so floating-point noise split ties (the 14 equal betweennesses
    of the Heawood graph came out as ranks 1, 2 and 8), and PostgreSQL ranked customers without
    insights (NULL) first."""

    def __init__(self, conn):
        rows = np.array(conn.execute(select(CustomerInsight.customer_id, CustomerInsight.betweenness)
                                     .join(Customer, Customer.id == CustomerInsight.customer_id)
                                     .where(Customer.forgotten_at.is_(None),
                                            CustomerInsight.betweenness.is_not(None))  # not computed: no rank
                                     .order_by(CustomerInsight.customer_id)).all(), dtype=np.float64).reshape(-1, 2)
        self.ids = rows[:, 0].astype(np.int64)
        self.ranks = competition_rank(rows[:, 1])

    def __call__(self, customer_id: int) -> int | None:
        i = int(np.searchsorted(self.ids, customer_id))
        return int(self.ranks[i]) if i < len(self.ids) and self.ids[i] == customer_id else None


def export(db: Database, what: str, fmt: str, out: IO[str]) -> int:
    query = QUERIES[what]()
    count = 0
    with db.engine.connect() as conn:
        rank_of = ConnectorRanks(conn) if what == "insights" else None
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        keys = list(result.keys())
        rank_at = keys.index("connector_rank") if rank_of is not None else -1

        def rows():
            for row in result:
                if rank_of is None:
                    yield row
                else:
                    row = list(row)
                    row[rank_at] = rank_of(row[0])
                    yield row
        if fmt == "csv":
            writer = csv.writer(out)
            writer.writerow([spreadsheet_safe(k) for k in keys])
            for row in rows():
                writer.writerow(["" if v is None else spreadsheet_safe(v.isoformat() if hasattr(v, "isoformat") else v)
                                 for v in row])
                count += 1
        else:
            out.write("[")
            for row in rows():
                record = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(keys, row)}
                out.write(("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False))
                count += 1
            out.write("\n]\n")
    return count
