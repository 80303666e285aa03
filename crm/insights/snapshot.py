"""The store as numpy arrays, read with a handful of bulk SQL queries.

Everything the insight job computes starts from here, so the job costs a few full scans
instead of one query per customer. Times are float seconds since the epoch (UTC); customers
are addressed by their position in ``customer_ids`` (sorted), staff by position in ``staff_ids``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.engine import Connection

KINDS = ("call", "email", "meeting", "chat", "note", "message")
TIERS = ("standard", "silver", "gold", "vip")
STAGES = ("lead", "prospect", "active", "churned")
DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
REL_KINDS = ("membership", "referred", "knows", "works-with")
INBOUND, OUTBOUND, INTERNAL = 1, 0, 2
DAY = 86_400.0


def epoch_sql(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS REAL)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"


_ISO_CODE = re.compile(r"[A-Z]{3}")


def _case(column: str, values: tuple[str, ...], default: int = -1) -> str:
    whens = " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(values))
    return f"CASE {column} {whens} ELSE {default} END"


def _fetch(conn: Connection, sql: str) -> list[tuple]:
    """Plain DBAPI tuples: SQLAlchemy rows are ~20x slower for numpy to convert."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


FETCH_CHUNK = 500_000


def _rows(conn: Connection, sql: str, columns: int) -> np.ndarray:
    """The rows as a float array (NULL is nan), converted a chunk at a time: at ten million interactions
    the whole result as Python tuples would be ~2.5 GB, the array is 480 MB."""
    cursor = conn.connection.cursor()
    parts = []
    try:
        cursor.execute(sql)
        while True:
            chunk = cursor.fetchmany(FETCH_CHUNK)
            if not chunk:
                break
            parts.append(np.array(chunk, dtype=np.float64).reshape(len(chunk), columns))
    finally:
        cursor.close()
    if not parts:
        return np.empty((0, columns), dtype=np.float64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


@dataclass
class Snapshot:
    now: float
    customer_ids: np.ndarray  # int64, sorted
    company_of: np.ndarray  # int32 position in company_ids, -1 none
    owner_of: np.ndarray  # int32 position in staff_ids, -1 none
    tier: np.ndarray  # int8 index into TIERS
    stage: np.ndarray  # int8 index into STAGES
    created_at: np.ndarray
    churned_at: np.ndarray  # nan unless churned
    on_telegram: np.ndarray  # bool
    company_ids: np.ndarray
    staff_ids: np.ndarray
    staff_active: np.ndarray
    # relationships (customer positions)
    rel_a: np.ndarray
    rel_b: np.ndarray
    rel_kind: np.ndarray
    rel_strength: np.ndarray
    # interactions
    i_customer: np.ndarray
    i_staff: np.ndarray  # the staff side of the conversation (see _conversation_partner); -1 when nobody
    i_direction: np.ndarray
    i_kind: np.ndarray
    i_at: np.ndarray
    # tickets
    t_customer: np.ndarray
    t_open: np.ndarray
    t_opened: np.ndarray
    t_resolved: np.ndarray
    t_rating: np.ndarray  # nan when unrated
    # deals
    d_customer: np.ndarray
    d_stage: np.ndarray
    d_amount: np.ndarray
    d_changed: np.ndarray
    d_closed: np.ndarray
    d_currency: np.ndarray | None = None  # int16 index into ``currencies``, -1 for a code we do not know
    currencies: tuple[str, ...] = ()  # the ISO codes the deals use: amounts are only summed within one

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    def reference_time(self) -> np.ndarray:
        """Per customer, the moment its features describe: the churn date for churned ones, now for the rest."""
        return np.where(np.isnan(self.churned_at), self.now, self.churned_at)

    def position(self, customer_id: int) -> int | None:
        i = int(np.searchsorted(self.customer_ids, customer_id))
        return i if i < len(self.customer_ids) and self.customer_ids[i] == customer_id else None


def _index(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions of ``values`` in sorted ``ids``; -1 where absent (nan included)."""
    out = np.full(len(values), -1, dtype=np.int32)
    if len(ids) == 0 or len(values) == 0:
        return out
    ok = ~np.isnan(values)
    v = values[ok].astype(np.int64)
    pos = np.searchsorted(ids, v)
    pos_clipped = np.minimum(pos, len(ids) - 1)
    hit = ids[pos_clipped] == v
    res = np.where(hit, pos_clipped, -1)
    out[ok] = res
    return out


def _conversation_partner(inter: np.ndarray, customer_pos: np.ndarray, tickets: np.ndarray, staff_ids: np.ndarray,
                          owner_of: np.ndarray) -> np.ndarray:
    """Who was on the staff side of each interaction: whoever logged it; for an inbound message
    nobody logged (a customer writing on Telegram), whoever handles it: the ticket's assignee,
    else the customer's owner. Without this, replies from customers would never make a
    relationship two-way."""
    partner = _index(staff_ids, inter[:, 1])
    waiting = np.flatnonzero((partner < 0) & (inter[:, 2] == 1))
    if len(waiting) == 0:
        return partner
    handler = owner_of[customer_pos[waiting]]
    if len(tickets):
        order = np.argsort(tickets[:, 5])
        ticket_ids, assignees = tickets[order, 5], _index(staff_ids, tickets[order, 6])
        ticket = inter[waiting, 5]
        pos = np.minimum(np.searchsorted(ticket_ids, np.nan_to_num(ticket, nan=-1)), len(ticket_ids) - 1)
        assigned = (ticket_ids[pos] == ticket) & (assignees[pos] >= 0)
        handler = np.where(assigned, assignees[pos], handler)
    partner[waiting] = handler
    return partner


def load_snapshot(conn: Connection, now: datetime) -> Snapshot:
    dialect = conn.dialect.name
    ep = lambda col: epoch_sql(dialect, col)  # noqa: E731
    cust = _rows(conn, f"""SELECT id, company_id, owner_id, {_case('tier', TIERS, 0)}, {_case('stage', STAGES, 0)},
                                  {ep('created_at')}, {ep('churned_at')},
                                  CASE WHEN telegram_chat_id IS NULL THEN 0 ELSE 1 END
                           FROM customer WHERE forgotten_at IS NULL ORDER BY id""", 8)
    companies = _rows(conn, "SELECT id FROM company ORDER BY id", 1)
    staff = _rows(conn, "SELECT id, CASE WHEN active THEN 1 ELSE 0 END FROM staff ORDER BY id", 2)
    customer_ids = cust[:, 0].astype(np.int64)
    company_ids = companies[:, 0].astype(np.int64)
    staff_ids = staff[:, 0].astype(np.int64)
    churned_at = np.where(cust[:, 4] == STAGES.index("churned"), cust[:, 6], np.nan) if len(cust) else cust[:, 6]
    # a churned customer without a date churned "now" as far as the features can tell
    churned_at = np.where((cust[:, 4] == STAGES.index("churned")) & np.isnan(churned_at), now.timestamp(), churned_at)

    rel = _rows(conn, f"SELECT from_customer_id, to_customer_id, {_case('kind', REL_KINDS, 2)}, strength "
                      "FROM relationship", 4)
    inter = _rows(conn, f"""SELECT customer_id, staff_id,
                                   CASE direction WHEN 'inbound' THEN 1 WHEN 'outbound' THEN 0 ELSE 2 END,
                                   {_case('kind', KINDS, 4)}, {ep('occurred_at')}, ticket_id FROM interaction""", 6)
    tickets = _rows(conn, f"""SELECT customer_id, CASE WHEN status = 'resolved' THEN 0 ELSE 1 END,
                                     {ep('opened_at')}, {ep('resolved_at')}, rating, id, assignee_id
                              FROM ticket""", 7)
    # only well-formed ISO codes reach the CASE (they are stored from what people typed)
    currencies = tuple(sorted({c for (c,) in _fetch(conn, "SELECT DISTINCT currency FROM deal")
                               if isinstance(c, str) and _ISO_CODE.fullmatch(c)}))
    deals = _rows(conn, f"""SELECT customer_id, {_case('stage', DEAL_STAGES, 0)}, amount, {ep('stage_changed_at')},
                                   {ep('closed_at')}, {_case('currency', currencies, -1) if currencies else -1} FROM deal""", 6)

    def keep(rows: np.ndarray, *columns: int) -> tuple[np.ndarray, list[np.ndarray]]:
        positions = [_index(customer_ids, rows[:, c]) for c in columns]
        mask = np.ones(len(rows), dtype=bool)
        for p in positions:
            mask &= p >= 0
        return mask, [p[mask] for p in positions]

    rmask, (ra, rb) = keep(rel, 0, 1)
    imask, (ic,) = keep(inter, 0)
    tmask, (tc,) = keep(tickets, 0)
    dmask, (dc,) = keep(deals, 0)
    inter = inter[imask]
    tickets = tickets[tmask]
    deals = deals[dmask]
    owner_of = _index(staff_ids, cust[:, 2])
    return Snapshot(
        now=now.timestamp(), customer_ids=customer_ids, company_of=_index(company_ids, cust[:, 1]),
        owner_of=owner_of, tier=cust[:, 3].astype(np.int8), stage=cust[:, 4].astype(np.int8),
        created_at=cust[:, 5], churned_at=churned_at, on_telegram=cust[:, 7] > 0, company_ids=company_ids,
        staff_ids=staff_ids, staff_active=staff[:, 1] > 0 if len(staff) else np.zeros(0, dtype=bool),
        rel_a=ra, rel_b=rb, rel_kind=rel[rmask, 2].astype(np.int8), rel_strength=rel[rmask, 3],
        i_customer=ic, i_staff=_conversation_partner(inter, ic, tickets, staff_ids, owner_of), i_direction=inter[:, 2].astype(np.int8),
        i_kind=inter[:, 3].astype(np.int8), i_at=inter[:, 4],
        t_customer=tc, t_open=tickets[:, 1] > 0, t_opened=tickets[:, 2], t_resolved=tickets[:, 3],
        t_rating=tickets[:, 4],
        d_customer=dc, d_stage=deals[:, 1].astype(np.int8), d_amount=deals[:, 2], d_changed=deals[:, 3],
        d_closed=deals[:, 4], d_currency=deals[:, 5].astype(np.int16), currencies=currencies)


def load_texts(conn: Connection, customer_ids: np.ndarray) -> list[str]:
    """Every customer's interaction text (logged calls, notes and Telegram messages) as one document,
    aggregated in SQL. A churned customer's text stops at its churn date, like its features."""
    agg = "group_concat(i.text, ' \n')" if conn.dialect.name == "sqlite" else "string_agg(i.text, E' \n')"
    rows = _fetch(conn, f"""SELECT i.customer_id, {agg} FROM interaction i JOIN customer c ON c.id = i.customer_id
                            WHERE c.forgotten_at IS NULL
                              AND (c.stage <> 'churned' OR c.churned_at IS NULL OR i.occurred_at <= c.churned_at)
                            GROUP BY i.customer_id""")
    docs = [""] * len(customer_ids)
    if rows:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        positions = np.searchsorted(customer_ids, ids)
        for (cid, text), pos in zip(rows, positions):
            if pos < len(customer_ids) and customer_ids[pos] == cid:
                docs[pos] = text or ""
    return docs


def fingerprint(conn: Connection) -> list[str]:
    """A cheap summary of what the insights are computed from: any added, removed or changed customer,
    relationship, interaction, deal or ticket changes it (counts, newest ids, latest changes)."""
    row = _fetch(conn, """SELECT
        (SELECT count(*) FROM customer WHERE forgotten_at IS NULL), (SELECT max(id) FROM customer),
        (SELECT max(updated_at) FROM customer),
        (SELECT count(*) FROM relationship), (SELECT max(id) FROM relationship),
        (SELECT sum(strength) FROM relationship),
        (SELECT count(*) FROM interaction), (SELECT max(id) FROM interaction),
        (SELECT count(*) FROM deal), (SELECT max(id) FROM deal), (SELECT max(stage_changed_at) FROM deal),
        (SELECT count(*) FROM ticket), (SELECT max(id) FROM ticket), (SELECT max(resolved_at) FROM ticket)""")[0]
    return [str(value) for value in row]
