"""Customer search: partial, misspelt and Chinese names, company and email, ranked.

The database narrows to a few hundred candidates with an index (SQLite FTS5 trigram table,
PostgreSQL pg_trgm, plus a range scan on the casefolded name); rapidfuzz ranks them in
Python on plain tuples. Nothing scans all customers.

Misspellings are found in stages, cheapest first: the text as typed, then each word cut
back to its first letters ("globx" finds "glob…"), then any shared trigram among the query's rare
ones (at most ``RANKED`` documents), ranked by bm25.
"""
from __future__ import annotations

import re

from rapidfuzz import fuzz
from sqlalchemy import text
from sqlmodel import Session, col, select

from crm.models import Company, Customer

CANDIDATES = 100  # per source (name prefix, index): enough to rank the best 10; fetching and scoring is the cost
# the misspelling stage ranks (bm25) at most this many documents: its cost must not follow the store's size
RANKED = 1_000
PG_RANKED = 300  # PostgreSQL: texts word_similarity ranks for a misspelling (each costs ~50 µs to recheck)
MAX_GRAMS = 40  # trigrams of a long query looked at for that stage (a query is at most 200 characters)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_NAME_WORDS = re.compile(r"[\s\-_,.]+")
_TEXT_WORDS = re.compile(r"[\s|@.\-_,]+")


def build_search_text(name: str, company: str | None = None, email: str | None = None,
                      phone: str | None = None, tags: str | None = None) -> str:
    parts = [name, company or "", email or "", phone or "", (tags or "").replace(",", " ")]
    return " | ".join(p.strip() for p in parts if p and p.strip()).casefold()


def build_search_cjk(*texts: str | None) -> str:
    """Every Chinese character and adjacent pair as a word: 王伟 -> "王 伟 王伟"."""
    words: list[str] = []
    for chunk in texts:
        for run in _CJK_RUN.findall(chunk or ""):
            words.extend(run)
            words.extend(run[i:i + 2] for i in range(len(run) - 1))
    return " ".join(dict.fromkeys(words))


def refresh_search_text(session: Session, customer: Customer) -> None:
    company = session.get(Company, customer.company_id) if customer.company_id else None
    company_name = company.name if company else None
    customer.search_text = build_search_text(customer.name, company_name, customer.email, customer.phone,
                                             customer.tags)
    customer.search_cjk = build_search_cjk(customer.name, company_name)
    # casefolding can lengthen a name ("ß" → "ss"): keep the key within its 200-character column
    customer.name_key = customer.name.casefold()[:200]


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


Row = tuple[int, str, str]  # id, name, search_text


def _rows(session: Session, sql: str, **params) -> list[Row]:
    return [tuple(r) for r in session.execute(text(sql), params)]


def _name_prefix(session: Session, q: str) -> list[Row]:
    # an index range scan on name_key: exact and prefix matches of the name itself
    return _rows(session, "SELECT id, name, search_text FROM customer WHERE name_key >= :lo AND name_key < :hi "
                          "AND forgotten_at IS NULL LIMIT :n", lo=q, hi=q + "\uffff", n=CANDIDATES)


def _sqlite_candidates(session: Session, q: str) -> list[Row]:
    base = ("SELECT c.id, c.name, c.search_text FROM customer_fts f JOIN customer c ON c.id = f.rowid "
            "WHERE customer_fts MATCH :m AND c.forgotten_at IS NULL")
    words = [w for w in q.split() if w]
    if _is_short_cjk(q):
        return _rows(session, "SELECT c.id, c.name, c.search_text FROM customer_fts_cjk f JOIN customer c "
                              "ON c.id = f.rowid WHERE customer_fts_cjk MATCH :m AND c.forgotten_at IS NULL LIMIT :n",
                     m=_phrase(q), n=CANDIDATES)
    if len(q) < 3:
        # two Latin letters: what starts with them (name prefix above) is what people mean
        return []
    rows = _rows(session, base + " LIMIT :n", m=_phrase(q), n=CANDIDATES)
    if rows:
        return rows
    if words and all(len(w) >= 3 for w in words):
        rows = _rows(session, base + " LIMIT :n", m=" AND ".join(_phrase(w) for w in words), n=CANDIDATES)
        if rows:
            return rows
    # cut each long word back one letter at a time: most typos are near the end
    for cut in (1, 2):
        stems = [w[:-cut] if len(w) - cut >= 3 else w for w in words if len(w) >= 3]
        if stems and any(len(w) >= 4 for w in words):
            rows = _rows(session, base + " LIMIT :n", m=" AND ".join(_phrase(w) for w in stems), n=CANDIDATES)
            if rows:
                return rows
    grams = sorted({q[i:i + 3] for i in range(len(q) - 2) if q[i:i + 3].strip()})
    if len(grams) >= 2:
        rare = _rare_grams(session, grams)
        if rare:
            return _rows(session, base + " ORDER BY f.rank LIMIT 100", m=" OR ".join(_phrase(g) for g in rare))
    return []


def _rare_grams(session: Session, grams: list[str]) -> list[str]:
    """The query's rarest trigrams whose documents together stay within ``RANKED``.

    bm25 reads every document it ranks: at 1,000,000 customers a trigram like "ith" or "son" is in
    tens of thousands of them, and ranking their union took seconds. A misspelt word keeps most of
    its trigrams, and the rare ones are the ones that tell customers apart. Each count stops at
    ``RANKED + 1`` documents, so asking costs at most that much per trigram.
    """
    cap = RANKED + 1
    counts = []
    for gram in grams[:MAX_GRAMS]:
        found = session.execute(text("SELECT count(*) FROM (SELECT rowid FROM customer_fts WHERE customer_fts "
                                     "MATCH :m LIMIT :cap)"), {"m": _phrase(gram), "cap": cap}).scalar()
        if found:
            counts.append((found, gram))
    chosen, total = [], 0
    for found, gram in sorted(counts):
        if total + found > RANKED:
            break
        chosen.append(gram)
        total += found
    return chosen


def _is_short_cjk(q: str) -> bool:
    return len(q) <= 2 and all(_CJK.match(ch) for ch in q)


def _postgres_candidates(session: Session, q: str) -> list[Row]:
    if _is_short_cjk(q):
        return _rows(session, "SELECT id, name, search_text FROM customer WHERE to_tsvector('simple', search_cjk) "
                              "@@ to_tsquery('simple', :q) AND forgotten_at IS NULL LIMIT :n", q=q, n=CANDIDATES)
    if len(q) < 3:
        # pg_trgm cannot index fewer than three letters: ILIKE '%li%' read the whole table when few
        # matched. As on SQLite, two Latin letters are a name prefix (above)
        return []
    rows = _rows(session, "SELECT id, name, search_text FROM customer WHERE search_text ILIKE :p ESCAPE '\\' "
                          "AND forgotten_at IS NULL LIMIT :n", p=_like(q), n=CANDIDATES)
    if len(rows) < 10:
        # a misspelling: similar texts by trigrams, ranked. A common name's typo ("smithx") is similar to
        # tens of thousands of customers at 1,000,000; ranking is bounded to the first PG_RANKED of them
        rows += _rows(session, "SELECT id, name, search_text FROM (SELECT id, name, search_text FROM customer "
                               "WHERE :q <% search_text AND forgotten_at IS NULL LIMIT :cap) AS alike "
                               "ORDER BY word_similarity(:q, search_text) DESC LIMIT :n",
                      q=q, cap=PG_RANKED, n=100)
    return rows


def score(q: str, name: str, hay: str) -> float:
    """0-100: exact name 100, name word prefix ~95, name substring ~88, other field ~80-84, then fuzzy."""
    name = name.casefold()
    if name == q:
        return 100.0
    if any(w.startswith(q) for w in _NAME_WORDS.split(name)) or name.startswith(q):
        return 95.0 - min(len(name) - len(q), 20) * 0.1
    if q in name:
        return 88.0 - min(len(name) - len(q), 20) * 0.1
    if any(w.startswith(q) for w in _TEXT_WORDS.split(hay)):
        return 84.0
    if q in hay:
        return 80.0
    return 0.7 * max(fuzz.ratio(q, name), fuzz.partial_ratio(q, name), 0.9 * fuzz.partial_ratio(q, hay))


def search_customers(session: Session, query: str, limit: int = 10, min_score: float = 55.0
                     ) -> list[tuple[Customer, float]]:
    q = " ".join(query.casefold().split())[:200]
    if not q:
        return []
    dialect = session.get_bind().dialect.name
    rows = _name_prefix(session, q)
    if dialect == "sqlite":
        rows += _sqlite_candidates(session, q)
    elif dialect == "postgresql":
        rows += _postgres_candidates(session, q)
    else:
        rows += _rows(session, "SELECT id, name, search_text FROM customer WHERE search_text LIKE :p ESCAPE '\\' "
                      "AND forgotten_at IS NULL LIMIT :n",
                      p=_like(q), n=CANDIDATES)
    best: dict[int, tuple[float, str]] = {}
    for cid, name, hay in rows:
        if cid not in best:
            best[cid] = (score(q, name, hay), name)
    ranked = sorted(((s, name, cid) for cid, (s, name) in best.items() if s >= min_score),
                    key=lambda t: (-t[0], t[1], t[2]))[:limit]
    if not ranked:
        return []
    loaded = {c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_([t[2] for t in ranked])))}
    return [(loaded[cid], s) for s, _name, cid in ranked if cid in loaded]
