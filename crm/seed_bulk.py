"""Vectorised bulk seeding for large stores: `crm-bot seed --customers N` from ``BULK_FROM`` customers up.

``crm.seed.seed`` builds every row as a Python dict with ``random.Random`` calls: right for the small
planted stores the tests and the demo use (and kept exactly as it is, their planted truth is pinned),
but at a million customers it spends most of an hour building rows (the customers stage alone took
26.5 min under load). Here numpy draws every column as an array, rows go to the database as tuples
(SQLite: the DBAPI connection's ``executemany`` in large transactions with ``synchronous=OFF`` and an
in-memory journal, the secondary indexes of the big tables dropped during the load and created again
after it; PostgreSQL: ``COPY … FROM STDIN`` through psycopg).

Same tables and the same shape as ``crm.seed``: staff (admin, managers, reps, a fifth of them Chinese),
companies (English and Chinese names, one industry per planted cluster), customers (English and Chinese
names, emails, phones, tiers, tags, owners, Telegram chats), hidden churn profiles (silence, tickets,
bad ratings, stalled deals → stage ``churned`` with ``churned_at``; a churned customer's history stops at
its churn date), must-contact customers per rep, interactions across kinds, directions and channels,
deals, follow-ups and tickets, and the planted truth in ``InsightBlob`` ``seed_truth``. The account
graph (customer–customer relationships and each customer's company) is
``crm.seed_graph.seeder_shaped_graph``: the graph the betweenness benchmarks measure, so a seeded
store and the synthetic graph are the same graph. Planted clusters are the companies' clusters; the
planted connectors are the customers with the most relationships (heavy-tailed extra links, ``crm.seed.connector_links``).

``search_text``, ``search_cjk``, ``name_key`` and ``phone_key`` are filled by the product's own
functions (``crm.search``, ``crm.customers.phone_key``), row by row, exactly as the ORM path fills them.
"""
from __future__ import annotations

import json
import zlib
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

import numpy as np

from crm.customers import phone_key
from crm.db import Database
from crm.search import build_search_cjk, build_search_text
from crm.seed import (BAD_RATING_EN, BAD_RATING_ZH, CO_A, CO_B, COMPLAINTS_EN, COMPLAINTS_ZH, FIRST, HAPPY_EN,
                      HAPPY_ZH, INDUSTRIES, LAST, MUST_CONTACT_PER_REP, NOTES_EN, NOTES_ZH, SEED_TRUTH_KEY, TASKS,
                      TOPICS_EN, TOPICS_ZH, ZH_CO_A, ZH_CO_B, ZH_GIVEN, ZH_SURNAMES, SeedResult, staff_members,
                      team_size, unique_names)
from crm.seed_graph import cluster_count, company_clusters, seeder_shaped_graph
from crm.types import utcnow

BULK_FROM = 200_000  # customers; below this `crm-bot seed` keeps crm.seed (pinned planted truth, a minute at most)
RELATIONSHIPS_PER_CUSTOMER = 5.0  # ~5M relationships at 1M customers (issue 16)
CUSTOMER_CHUNK = 100_000  # customers per batch of interactions (~1M rows): bounded memory
ROWS_PER_EXECUTE = 200_000
BIG_TABLES = ("customer", "relationship", "interaction", "deal", "task", "ticket")
TAGS = ["renewal", "enterprise", "smb", "partner", "trial", "apac", "emea"]
KINDS = np.array(["call", "email", "meeting", "chat", "note", "message"])
KIND_P = np.array([25, 35, 10, 10, 10, 10]) / 100
REL_KINDS = np.array(["referred", "knows", "works-with"])
DEAL_STAGES = np.array(["lead", "qualified", "proposal", "negotiation", "won", "lost"])
DEAL_TITLES = np.array(["Annual renewal", "Expansion", "Pilot", "New licences", "续约", "扩容"])
DAY_S = 86_400.0


def _stamp(seconds: np.ndarray, dialect: str) -> np.ndarray:
    """Epoch seconds → the text SQLAlchemy stores for a UTC datetime ('2026-11-23 10:00:00.000000')."""
    text = np.datetime_as_string(np.round(seconds * 1e6).astype("datetime64[us]"), unit="us")
    codes = text.view(np.uint32).reshape(len(text), -1)
    codes[:, 10] = ord(" ")
    text = codes.view(text.dtype).reshape(len(text))
    return np.char.add(text, "+00") if dialect == "postgresql" else text


def _dates(seconds: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.floor(seconds / DAY_S).astype("datetime64[D]"), unit="D")


class _Writer:
    """Rows as tuples of columns to one table: sqlite3 executemany, or PostgreSQL COPY."""

    def __init__(self, raw, dialect: str):
        self.raw, self.dialect = raw, dialect

    def write(self, table: str, columns: Sequence[str], values: Sequence[Iterable]) -> int:
        rows = list(zip(*[v.tolist() if isinstance(v, np.ndarray) else v for v in values]))
        cursor = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                for i in range(0, len(rows), ROWS_PER_EXECUTE):
                    cursor.executemany(sql, rows[i:i + ROWS_PER_EXECUTE])
        finally:
            cursor.close()
        return len(rows)


def seed_bulk(db: Database, customers: int, *, seed: int = 42, now: datetime | None = None,
              interactions_per_customer: float = 10.0,
              relationships_per_customer: float = RELATIONSHIPS_PER_CUSTOMER,
              progress: Callable[[str], None] | None = None) -> SeedResult:
    """Add a realistic CRM with planted structure to the store, vectorised (see the module docstring)."""
    if customers < 20:
        raise ValueError("the bulk seeder needs at least 20 customers (planted clusters)")
    now = (now or utcnow()).astimezone(timezone.utc)
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    dialect = db.dialect
    t_now = now.timestamp()
    stamp = lambda s: _stamp(np.asarray(s, dtype=np.float64), dialect)  # noqa: E731

    say("account graph")
    adjacency, _keys = seeder_shaped_graph(customers, relationships_per_customer, seed)
    upper = _upper_customer_edges(adjacency, customers)
    company_of = _company_of(adjacency, customers)
    n_companies = adjacency.shape[0] - customers
    n_clusters = cluster_count(customers)
    company_cluster = company_clusters(customers, n_companies)
    cluster_of = company_cluster[company_of]
    degree = np.bincount(np.r_[upper[0], upper[1]], minlength=customers)
    n_connectors = max(3, customers // 1000)
    connector_pos = np.sort(np.argsort(-degree, kind="stable")[:n_connectors])
    is_connector = np.zeros(customers, bool)
    is_connector[connector_pos] = True

    raw = db.engine.raw_connection()
    try:
        driver = raw.driver_connection
        writer = _Writer(driver, dialect)
        saved_indexes = _begin_bulk(driver, dialect)
        cur = driver.cursor()
        start_staff = _scalar(cur, "SELECT COALESCE(MAX(id), 0) FROM staff")
        start_company = _scalar(cur, "SELECT COALESCE(MAX(id), 0) FROM company")
        start_customer = _scalar(cur, "SELECT COALESCE(MAX(id), 0) FROM customer")
        tag = f"s{seed}-{start_customer}" if start_customer else ""

        say("staff")
        n_reps, n_managers = team_size(customers)
        taken = {n for (n,) in _all(cur, "SELECT name FROM staff")}
        staff_rows, manager_ids, rep_ids = staff_members(
            start=start_staff, n_reps=n_reps, n_managers=n_managers, tag=tag, unique=unique_names(taken),
            now=str(stamp([t_now])[0]), chinese_name=lambda: ZH_SURNAMES[int(rng.integers(len(ZH_SURNAMES)))]
            + ZH_GIVEN[int(rng.integers(len(ZH_GIVEN)))])
        columns = list(staff_rows[0])
        writer.write("staff", columns, [[row[c] for row in staff_rows] for c in columns])
        rep_ids = np.array(rep_ids)
        cluster_reps = rng.choice(rep_ids, (n_clusters, 2))
        cluster_industry = rng.integers(0, len(INDUSTRIES), n_clusters)

        say("companies")
        used = {n for (n,) in _all(cur, "SELECT name FROM company")}
        co_zh = rng.random(n_companies) < 0.2
        co_a, co_b = rng.integers(0, 1 << 30, n_companies), rng.integers(0, 1 << 30, n_companies)
        company_names, domains = [], []
        for i, (zh, a, b) in enumerate(zip(co_zh.tolist(), co_a.tolist(), co_b.tolist())):
            base = ZH_CO_A[a % len(ZH_CO_A)] + ZH_CO_B[b % len(ZH_CO_B)] if zh \
                else f"{CO_A[a % len(CO_A)]} {CO_B[b % len(CO_B)]}"
            name = base if base not in used else f"{base} {i}"
            used.add(name)
            company_names.append(name)
            domains.append(None if zh else name.lower().replace(" ", "") + ".example")
        industries = np.array(INDUSTRIES)[cluster_industry[company_cluster]]
        writer.write("company", ["id", "name", "industry", "domain", "created_at"],
                     [np.arange(start_company + 1, start_company + 1 + n_companies), company_names, industries,
                      domains, [str(stamp([t_now])[0])] * n_companies])

        say("customers")
        c = _customers(rng, customers, t_now, cluster_of, cluster_reps, rep_ids, is_connector)
        cid = np.arange(start_customer + 1, start_customer + 1 + customers, dtype=np.int64)
        must = _must_contact(rng, c, rep_ids, is_connector, t_now)
        c["on_telegram"][must] = True
        tz = np.where(c["on_telegram"], 900_000_000 + cid, -1)
        latest = c["ref"] - c["gap"]  # the newest interaction is exactly there, and it is never internal
        names, emails, phones = _identities(rng, c["zh"], cid)
        tags = _tags(rng, customers)
        created = t_now - rng.integers(400, 901, customers) * DAY_S
        columns = ["id", "name", "name_key", "company_id", "email", "phone", "phone_key", "telegram_chat_id",
                   "language", "tier", "stage", "owner_id", "tags", "marketing_opt_out", "telegram_blocked",
                   "search_text", "search_cjk", "last_contact_at", "churned_at", "created_at", "updated_at"]
        opt_out = rng.random(customers) < 0.05
        tiers = np.array(["standard", "silver", "gold", "vip"])[c["tier"]]
        stages = np.array(["lead", "prospect", "active", "churned"])[c["stage"]]
        for lo in range(0, customers, CUSTOMER_CHUNK):
            hi = min(customers, lo + CUSTOMER_CHUNK)
            part = slice(lo, hi)
            nm, co = names[part], [company_names[k] for k in company_of[part].tolist()]
            em, ph, tg = emails[part], phones[part], tags[part]
            churned_at = stamp(c["ref"][part]).astype(object)
            churned_at[c["stage"][part] != 3] = None
            writer.write("customer", columns, [
                cid[part], nm, [n.casefold()[:200] for n in nm], company_of[part] + start_company + 1, em, ph,
                [phone_key(p) for p in ph], [None if t < 0 else t for t in tz[part].tolist()],
                np.where(c["zh"][part], "zh", "en"), tiers[part], stages[part], c["owner"][part], tg,
                opt_out[part], [False] * (hi - lo),
                [build_search_text(n, k, e, p, t) for n, k, e, p, t in zip(nm, co, em, ph, tg)],
                [build_search_cjk(n, k) for n, k in zip(nm, co)],
                stamp(latest[part]), churned_at, stamp(created[part]), stamp(created[part])])
            say(f"customers {hi:,}/{customers:,}")

        say("relationships")
        n_rel = len(upper[0])
        rel_kind = REL_KINDS[rng.integers(0, 3, n_rel)]
        rel_strength = np.round(rng.uniform(0.3, 1.0, n_rel), 2)
        flip = rng.random(n_rel) < 0.5  # who referred whom: either direction
        a = np.where(flip, upper[1], upper[0]) + start_customer + 1
        b = np.where(flip, upper[0], upper[1]) + start_customer + 1
        now_text = str(stamp([t_now])[0])
        for lo in range(0, n_rel, 1_000_000):
            part = slice(lo, lo + 1_000_000)
            writer.write("relationship", ["from_customer_id", "to_customer_id", "kind", "strength", "created_at"],
                         [a[part], b[part], rel_kind[part], rel_strength[part], [now_text] * len(a[part])])

        say("interactions")
        total = 0
        topic_lists = _text_lists()
        for lo in range(0, customers, CUSTOMER_CHUNK):
            hi = min(customers, lo + CUSTOMER_CHUNK)
            total += _interactions(rng, writer, c, lo, hi, cid, cluster_of, cluster_industry, cluster_reps,
                                   latest, interactions_per_customer, topic_lists, stamp)
            say(f"interactions {total:,} ({hi:,}/{customers:,} customers)")

        say("deals, tasks, tickets")
        n_deals, n_tasks, n_tickets = _deals_tasks_tickets(rng, writer, c, cid, t_now, stamp)

        say("ground truth")
        truth = dict(first_customer_id=int(cid[0]), cluster_of=cluster_of.tolist(), seed=seed,
                     connectors=(connector_pos + start_customer + 1).tolist(), must_contact={}, churn_causes={},
                     generated_at=now.isoformat())
        for i in must.tolist():
            truth["must_contact"].setdefault(str(int(c["owner"][i])), []).append(int(cid[i]))
        churned = np.flatnonzero(c["stage"] == 3)
        causes = np.column_stack([c["silent"], c["tickets"] > 0, c["bad"] > 0, c["stalled"]])[churned]
        labels = np.array(["silent", "tickets", "bad_rating", "stalled"])
        for i, row in zip(churned.tolist(), causes.tolist()):
            truth["churn_causes"][str(int(cid[i]))] = labels[np.array(row, bool)].tolist()
        cur.execute("DELETE FROM insight_blob WHERE key = " + ("%s" if dialect == "postgresql" else "?"),
                    (SEED_TRUTH_KEY,))
        writer_blob = zlib.compress(json.dumps(truth).encode(), 6)
        cur.execute("INSERT INTO insight_blob (key, payload, computed_at) VALUES "
                    + ("(%s, %s, %s)" if dialect == "postgresql" else "(?, ?, ?)"),
                    (SEED_TRUTH_KEY, writer_blob, now_text))
        cur.close()
        say("indexes")
        _end_bulk(driver, dialect, saved_indexes)
    except BaseException:
        raw.driver_connection.rollback()
        raise
    finally:
        raw.invalidate()  # the load's PRAGMAs (no fsync or foreign keys, big cache) go with it
        raw.close()
    return SeedResult(len(staff_rows), customers, n_companies, total, n_rel, n_deals, n_tasks, n_tickets,
                      connectors=n_connectors, clusters=n_clusters, churned=int((c["stage"] == 3).sum()),
                      must_contact=len(must))


# --- the graph -----------------------------------------------------------------------------------------------

def _upper_customer_edges(adjacency, customers: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy import sparse

    coo = sparse.triu(adjacency[:customers, :customers], k=1).tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64)


def _company_of(adjacency, customers: int) -> np.ndarray:
    """Each customer's company (its one neighbour among the company nodes), as a company position."""
    part = adjacency[:customers, customers:].tocsr()
    counts = np.diff(part.indptr)
    company = np.full(customers, 0, dtype=np.int64)
    has = counts > 0
    company[has] = part.indices[part.indptr[:-1][has]]
    return company


# --- staff and customers ---------------------------------------------------------------------------------------

def _customers(rng, n: int, t_now: float, cluster_of, cluster_reps, rep_ids, is_connector) -> dict:
    """Owners, tiers and each customer's hidden churn story (crm.seed._profile, as arrays)."""
    zh = rng.random(n) < 0.2
    owner = np.where(rng.random(n) < 0.8, cluster_reps[cluster_of, 0], rng.choice(rep_ids, n))
    tier = rng.choice(4, n, p=[0.60, 0.20, 0.13, 0.07])
    silent = rng.random(n) < 0.22
    tickets = rng.choice(3, n, p=[0.85, 0.11, 0.04])
    bad = rng.choice(3, n, p=[0.88, 0.09, 0.03])
    stalled = rng.random(n) < 0.15
    logit = -4.0 + 3.0 * silent + 2.2 * (tickets > 0) + 2.2 * (bad > 0) + 2.0 * stalled
    churned = ~is_connector & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    stage = np.where(churned, 3, rng.choice(3, n, p=[0.15, 0.20, 0.65]))
    ref = np.where(churned, t_now - rng.integers(5, 201, n) * DAY_S, t_now)
    gap = np.where(silent, rng.uniform(60, 160, n), rng.uniform(0.2, 20, n)) * DAY_S
    replies = np.where(rng.random(n) < 0.15, 0.05, rng.uniform(0.3, 0.55, n))
    on_telegram = (tickets > 0) | (bad > 0) | (rng.random(n) < 0.3)
    return dict(zh=zh, owner=owner, tier=tier, silent=silent, tickets=tickets, bad=bad, stalled=stalled,
                stage=stage, ref=ref, gap=gap, replies=replies, on_telegram=on_telegram,
                deal_amount=np.zeros(n), helper=cluster_reps[cluster_of, 1])


def _must_contact(rng, c: dict, rep_ids, is_connector, t_now: float) -> np.ndarray:
    """Per rep, valuable live accounts going quiet with a stalled big deal and an open ticket."""
    live = (c["stage"] != 3) & ~is_connector
    chosen = []
    for rep in rep_ids.tolist():
        pool = np.flatnonzero(live & (c["owner"] == rep))
        if len(pool) >= 10:
            chosen.append(rng.choice(pool, min(MUST_CONTACT_PER_REP, len(pool) // 10), replace=False))
    must = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    c["tier"][must], c["stage"][must], c["ref"][must] = 3, 2, t_now
    c["gap"][must] = rng.uniform(40, 75, len(must)) * DAY_S
    c["silent"][must], c["tickets"][must], c["stalled"][must] = True, 1, True
    c["deal_amount"][must] = rng.choice([90, 120, 150, 200], len(must)) * 1000.0
    return must


def _identities(rng, zh: np.ndarray, cid: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    n = len(zh)
    sur, given = rng.integers(0, len(ZH_SURNAMES), n).tolist(), rng.integers(0, len(ZH_GIVEN), n).tolist()
    first, last = rng.integers(0, len(FIRST), n).tolist(), rng.integers(0, len(LAST), n).tolist()
    d1, d3, d4a, d4b = (rng.integers(0, 10, n).tolist(), rng.integers(100, 1000, n).tolist(),
                        rng.integers(1000, 10000, n).tolist(), rng.integers(1000, 10000, n).tolist())
    names, emails, phones = [], [], []
    for i, (z, k) in enumerate(zip(zh.tolist(), cid.tolist())):
        if z:
            names.append(ZH_SURNAMES[sur[i]] + ZH_GIVEN[given[i]])
            emails.append(f"c{k}@example.cn")
            phones.append(f"+86 13{d1[i]} {d4a[i]} {d4b[i]}")
        else:
            f, la = FIRST[first[i]], LAST[last[i]]
            names.append(f"{f} {la}")
            emails.append(f"{f.lower()}.{la.lower()}{k}@example.com")
            phones.append(f"+1 555 {d3[i]} {d4b[i]}")
    return names, emails, phones


def _tags(rng, n: int) -> list[str]:
    count = rng.integers(0, 3, n)
    order = np.argsort(rng.random((n, len(TAGS))), axis=1)[:, :2]
    out = []
    for k, (x, y) in zip(count.tolist(), order.tolist()):
        out.append("" if k == 0 else TAGS[x] if k == 1 else f"{TAGS[x]},{TAGS[y]}")
    return out


# --- history -------------------------------------------------------------------------------------------------

def _text_lists() -> dict:
    """Per (language, industry): what a note or a customer's message can say."""
    out = {}
    for zh in (False, True):
        for k, industry in enumerate(INDUSTRIES):
            topics = (TOPICS_ZH if zh else TOPICS_EN)[industry]
            notes = NOTES_ZH if zh else NOTES_EN
            sep = " · " if zh else ": "
            out[zh, k] = dict(
                complaint=np.array(COMPLAINTS_ZH if zh else COMPLAINTS_EN, dtype=object),
                bad=np.array(BAD_RATING_ZH if zh else BAD_RATING_EN, dtype=object),
                other=np.array(topics + (HAPPY_ZH if zh else HAPPY_EN), dtype=object),
                combined=np.array([t + sep + m for t in topics for m in notes], dtype=object),
                plain=np.array(notes, dtype=object))
    return out


def _interactions(rng, writer: _Writer, c: dict, lo: int, hi: int, cid, cluster_of, cluster_industry, cluster_reps,
                  latest, per_customer: float, texts: dict, stamp) -> int:
    m = hi - lo
    count = np.maximum(1, np.floor(rng.exponential(per_customer, m) + 0.5).astype(np.int64)) if per_customer \
        else np.zeros(m, dtype=np.int64)
    n = int(count.sum())
    if n == 0:
        return 0
    who = np.repeat(np.arange(lo, hi), count)  # customer positions
    first = np.zeros(n, bool)
    first[np.r_[0, np.cumsum(count)[:-1]]] = True
    kind = rng.choice(6, n, p=KIND_P)
    direction = np.where(rng.random(n) < c["replies"][who], 1, 0)  # 1 inbound, 0 outbound, 2 internal
    direction[kind == 4] = 2
    fix = first & (direction == 2)
    kind[fix], direction[fix] = 1, 0  # the newest one is a contact, never a note
    message = kind == 5
    direction[message] = 1
    span = 365 * DAY_S - c["gap"][who]
    at = np.where(first, latest[who], latest[who] - rng.random(n) * span)
    staff = np.where(rng.random(n) < 0.85, c["owner"][who], c["helper"][who])
    channel = np.where(message, "telegram", np.where(rng.random(n) < 0.5, "slack", "console"))
    # what was said: complaints from customers with tickets, bad words from bad raters, else the topics
    r1, r2 = rng.random(n), rng.random(n)
    category = np.where(message,
                        np.where((c["tickets"][who] > 0) & (r1 < 0.6), 0,
                                 np.where((c["bad"][who] > 0) & (r1 < 0.5), 1, 2)),
                        np.where(r1 < 0.6, 3, 4))
    group = c["zh"][who].astype(np.int64) * len(INDUSTRIES) + cluster_industry[cluster_of[who]]
    text = np.empty(n, dtype=object)
    names = ("complaint", "bad", "other", "combined", "plain")
    for g in np.unique(group).tolist():
        pools = texts[bool(g // len(INDUSTRIES)), g % len(INDUSTRIES)]
        in_group = group == g
        for k, name in enumerate(names):
            mask = in_group & (category == k)
            if mask.any():
                pool = pools[name]
                text[mask] = pool[(r2[mask] * len(pool)).astype(np.int64)]
    at_text = stamp(at)
    return writer.write("interaction", ["customer_id", "staff_id", "kind", "direction", "channel", "text",
                                        "occurred_at", "created_at"],
                        [cid[who], staff, KINDS[kind], np.array(["outbound", "inbound", "internal"])[direction],
                         channel, text, at_text, at_text])


def _deals_tasks_tickets(rng, writer: _Writer, c: dict, cid, t_now: float, stamp) -> tuple[int, int, int]:
    n = len(cid)
    ref, owner = c["ref"], c["owner"]
    # deals: every stalled customer has one in proposal/negotiation, 30% of the others one anywhere
    stalled = c["stalled"].astype(bool)
    other = ~stalled & (rng.random(n) < 0.3)
    has = np.flatnonzero(stalled | other)
    st = np.where(stalled[has], rng.choice([2, 3], len(has)),
                  rng.choice(6, len(has), p=np.array([15, 20, 25, 15, 15, 10]) / 100))
    open_stage = st <= 3
    back = np.where(stalled[has], rng.integers(45, 151, len(has)),
                    (rng.random(len(has)) * np.where(open_stage, 26, 301)).astype(np.int64))
    changed = ref[has] - back * DAY_S
    amount = np.where(c["deal_amount"][has] > 0, c["deal_amount"][has],
                      rng.choice([5, 8, 12, 20, 35, 50, 80, 120], len(has)) * 1000.0)
    closed = stamp(changed).astype(object)
    closed[open_stage] = None
    n_deals = writer.write("deal", ["customer_id", "owner_id", "title", "amount", "currency", "stage",
                                    "stage_changed_at", "created_at", "closed_at", "expected_close"],
                           [cid[has], owner[has], DEAL_TITLES[rng.integers(0, len(DEAL_TITLES), len(has))], amount,
                            ["USD"] * len(has), DEAL_STAGES[st], stamp(changed),
                            stamp(changed - rng.integers(0, 61, len(has)) * DAY_S), closed,
                            _dates(t_now + rng.integers(-10, 91, len(has)) * DAY_S)])

    # follow-ups for a fifth of the live customers
    t = np.flatnonzero((c["stage"] != 3) & (rng.random(n) < 0.2))
    due = t_now + rng.integers(-240, 481, len(t)) * 3600.0
    reminded = stamp(due).astype(object)
    reminded[due >= t_now] = None
    n_tasks = writer.write("task", ["customer_id", "owner_id", "created_by_id", "title", "due_at", "status",
                                    "reminded_at", "reminder_attempts", "created_at"],
                           [cid[t], owner[t], owner[t], np.array(TASKS, dtype=object)[rng.integers(0, len(TASKS), len(t))],
                            stamp(due), ["open"] * len(t), reminded, [0] * len(t), stamp(np.full(len(t), t_now))])

    # tickets: open complaints (closed with the account for churned customers), bad ratings, happy ones
    churned = c["stage"] == 3
    who = np.repeat(np.arange(n), c["tickets"])
    ch = churned[who]
    opened = np.where(ch, ref[who] - rng.integers(96, 961, len(who)) * 3600.0,
                      t_now - rng.integers(1, 145, len(who)) * 3600.0)
    resolved_at = np.where(ch, ref[who] + rng.integers(2, 121, len(who)) * 3600.0, np.nan)
    rating = np.full(len(who), -1)
    subject_kind = np.zeros(len(who), dtype=np.int64)  # 0 complaint, 1 subject
    bad_who = np.repeat(np.arange(n), c["bad"])
    b_open = ref[bad_who] - rng.integers(120, 2161, len(bad_who)) * 3600.0
    b_res = b_open + rng.integers(1, 73, len(bad_who)) * 3600.0
    happy_who = np.flatnonzero((c["tickets"] == 0) & (c["bad"] == 0) & c["on_telegram"] & (rng.random(n) < 0.3))
    h_open = ref[happy_who] - rng.integers(24, 2881, len(happy_who)) * 3600.0
    h_res = h_open + rng.integers(1, 73, len(happy_who)) * 3600.0
    who = np.r_[who, bad_who, happy_who]
    opened = np.r_[opened, b_open, h_open]
    resolved_at = np.r_[resolved_at, b_res, h_res]
    rating = np.r_[rating, rng.choice([1, 2, 2], len(bad_who)), rng.choice([3, 4, 4, 5, 5, 5], len(happy_who))]
    subject_kind = np.r_[subject_kind, np.ones(len(bad_who) + len(happy_who), dtype=np.int64)]
    resolved = ~np.isnan(resolved_at)
    responded = resolved | (rng.random(len(who)) < 0.6)
    first_response = opened + rng.integers(2, 601, len(who)) * 60.0
    zh = c["zh"][who]
    r = rng.random(len(who))
    pools = {(0, False): COMPLAINTS_EN, (0, True): COMPLAINTS_ZH, (1, False): NOTES_EN, (1, True): NOTES_ZH}
    subject = [pools[s, z][int(x * len(pools[s, z]))] for s, z, x in zip(subject_kind.tolist(), zh.tolist(), r.tolist())]

    def maybe(values, keep):
        out = stamp(np.where(keep, values, 0.0)).astype(object)
        out[~keep] = None
        return out

    n_tickets = writer.write("ticket", ["customer_id", "status", "assignee_id", "subject", "opened_at",
                                        "last_inbound_at", "first_response_at", "resolved_at", "rating",
                                        "out_of_office_sent", "tags"],
                             [cid[who], np.where(resolved, "resolved", "open"), owner[who], subject, stamp(opened),
                              stamp(opened), maybe(first_response, responded), maybe(resolved_at, resolved),
                              [None if x < 0 else x for x in rating.tolist()], [False] * len(who), [""] * len(who)])
    return n_deals, n_tasks, n_tickets


# --- the connection during the load ----------------------------------------------------------------------------

def _scalar(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


def _all(cur, sql: str) -> list[tuple]:
    cur.execute(sql)
    return cur.fetchall()


def _begin_bulk(driver, dialect: str) -> list[str]:
    """SQLite: no fsync, journal in memory, foreign keys unchecked (the rows are built consistent), the big
    tables' secondary indexes and the search tables' insert triggers dropped (created again at the end, the
    search tables rebuilt, all in the same transaction). Returns their DDL."""
    if dialect != "sqlite":
        return []
    driver.commit()
    cur = driver.cursor()
    cur.execute("PRAGMA foreign_keys=OFF")
    cur.execute("PRAGMA synchronous=OFF")
    try:  # leaving WAL needs the only connection to the file; with others open (a running bot) it stays WAL
        cur.execute("PRAGMA journal_mode=MEMORY")
    except driver.OperationalError:
        pass
    cur.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache during the load
    cur.execute("BEGIN")  # one transaction, the index drops included: a failed seed leaves the store as it was
    marks = ",".join("?" * len(BIG_TABLES))
    cur.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})", BIG_TABLES)
    saved = cur.fetchall()
    for name, _sql in saved:
        cur.execute(f'DROP INDEX "{name}"')
    # the search tables' insert triggers too: one 'rebuild' at the end tokenizes everything in sorted
    # passes instead of a million small index updates
    cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'customer' "
                "AND name IN ('customer_fts_ai', 'customer_fts_cjk_ai')")
    triggers = cur.fetchall()
    for name, _sql in triggers:
        cur.execute(f'DROP TRIGGER "{name}"')
    cur.close()
    return [sql for _name, sql in saved + triggers]


def _end_bulk(driver, dialect: str, saved_indexes: list[str]) -> None:
    cur = driver.cursor()
    if dialect == "sqlite":
        for sql in saved_indexes:
            cur.execute(sql)
        for table in ("customer_fts", "customer_fts_cjk"):
            if any(f"INSERT INTO {table}(" in sql for sql in saved_indexes):
                cur.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
        driver.commit()
        cur.execute("PRAGMA journal_mode=WAL")  # the file's mode, not the connection's (which is dropped after)
    else:
        driver.commit()
        for table in ("staff", "company", "customer"):  # explicit ids were inserted: move the sequences past them
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
        cur.execute("ANALYZE")
    driver.commit()
    cur.close()
