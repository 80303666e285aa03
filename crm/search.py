"""Customer search: partial, misspelt and Chinese names, company and email, ranked.

The database narrows (SQLite FTS5 trigram index, PostgreSQL pg_trgm) to a few hundred
candidates; rapidfuzz ranks them. Nothing scans all customers in Python.
"""
from __future__ import annotations

import re

from rapidfuzz import fuzz
from sqlalchemy import text
from sqlmodel import Session, col, select

from crm.models import Company, Customer

CANDIDATES = 200
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def build_search_text(name: str, company: str | None = None, email: str | None = None,
                      phone: str | None = None, tags: str | None = None) -> str:
    parts = [name, company or "", email or "", phone or "", (tags or "").replace(",", " ")]
    return " | ".join(p.strip() for p in parts if p and p.strip()).casefold()


def refresh_search_text(session: Session, customer: Customer) -> None:
    company = session.get(Company, customer.company_id) if customer.company_id else None
    customer.search_text = build_search_text(customer.name, company.name if company else None,
                                             customer.email, customer.phone, customer.tags)
    customer.name_key = customer.name.casefold()


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _candidate_ids(session: Session, q: str) -> list[int]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        if len(q) >= 3:
            ids = [r[0] for r in session.execute(
                text("SELECT rowid FROM customer_fts WHERE customer_fts MATCH :m ORDER BY rank LIMIT :n"),
                {"m": _fts_phrase(q), "n": CANDIDATES})]
            if len(ids) < 10 and len(q) >= 4:
                # misspellings: any shared trigram, best-ranked first
                grams = {q[i:i + 3] for i in range(len(q) - 2)}
                match = " OR ".join(_fts_phrase(g) for g in sorted(grams))
                ids += [r[0] for r in session.execute(
                    text("SELECT rowid FROM customer_fts WHERE customer_fts MATCH :m ORDER BY rank LIMIT :n"),
                    {"m": match, "n": CANDIDATES}) if r[0] not in ids]
            return ids
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [r[0] for r in session.execute(
            text("SELECT id FROM customer WHERE search_text LIKE :p ESCAPE '\\' LIMIT :n"),
            {"p": like, "n": CANDIDATES})]
    if dialect == "postgresql":
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        ids = [r[0] for r in session.execute(
            text("SELECT id FROM customer WHERE search_text ILIKE :p LIMIT :n"), {"p": like, "n": CANDIDATES})]
        if len(ids) < 10 and len(q) >= 3:
            ids += [r[0] for r in session.execute(
                text("SELECT id FROM customer WHERE :q <% search_text "
                     "ORDER BY word_similarity(:q, search_text) DESC LIMIT :n"),
                {"q": q, "n": CANDIDATES}) if r[0] not in ids]
        return ids
    like = f"%{q}%"
    return list(session.exec(select(Customer.id).where(col(Customer.search_text).like(like)).limit(CANDIDATES)))


def score(q: str, customer: Customer) -> float:
    """0-100: exact name 100, name word prefix ~95, substring ~85, then fuzzy similarity."""
    name = customer.name.casefold()
    hay = customer.search_text
    if name == q:
        return 100.0
    words = re.split(r"[\s|@.\-_,]+", hay)
    if any(w.startswith(q) for w in re.split(r"[\s\-_,.]+", name)) or (_CJK.search(q) and name.startswith(q)):
        return 95.0 - min(len(name) - len(q), 20) * 0.1
    if q in name:
        return 88.0 - min(len(name) - len(q), 20) * 0.1
    if any(w.startswith(q) for w in words):
        return 84.0
    if q in hay:
        return 80.0
    return 0.7 * max(fuzz.partial_ratio(q, name), fuzz.ratio(q, name), fuzz.partial_ratio(q, hay) * 0.9)


def search_customers(session: Session, query: str, limit: int = 10, min_score: float = 55.0
                     ) -> list[tuple[Customer, float]]:
    q = " ".join(query.casefold().split())
    if not q:
        return []
    ids = _candidate_ids(session, q)
    if not ids:
        return []
    customers = session.exec(select(Customer).where(col(Customer.id).in_(ids),
                                                    col(Customer.forgotten_at).is_(None))).all()
    ranked = sorted(((c, score(q, c)) for c in customers), key=lambda cs: (-cs[1], cs[0].name, cs[0].id))
    return [(c, s) for c, s in ranked if s >= min_score][:limit]
