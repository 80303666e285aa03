"""Where the insight job's results live: ``InsightBlob`` rows, read once per process and kept.

Commands must answer in milliseconds, so a loaded artefact (the graph, the similarity index)
stays in memory until the job writes a newer one; checking for that is one tiny query.
"""
from __future__ import annotations

import json
import threading
import uuid
import zlib
from datetime import datetime
from typing import Callable, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm.models import InsightBlob

SUMMARY = "insights_summary"
GRAPH = "insights_graph"
SIMILAR = "insights_similar"
CHURN_MODEL = "insights_churn_model"
# a one-byte row written with every refresh: checking freshness must not read past megabytes of
# blob (SQLite keeps a row's columns together, so computed_at sits behind the payload's overflow pages)
STAMP = "insights_stamp"

T = TypeVar("T")
_cache: dict[tuple[str, str], tuple[tuple[datetime, bytes], object]] = {}
_lock = threading.Lock()


def write_blobs(conn: Connection, blobs: dict[str, bytes], at: datetime) -> None:
    blobs = {**blobs, STAMP: uuid.uuid4().bytes}  # unique per run, even two runs at the same moment
    conn.execute(delete(InsightBlob).where(InsightBlob.key.in_(list(blobs))))
    conn.execute(insert(InsightBlob.__table__), [dict(key=k, payload=v, computed_at=at) for k, v in blobs.items()])


def json_blob(value) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), 6)


def _where(session: Session) -> str:
    return str(session.get_bind().url)


def computed_at(session: Session) -> datetime | None:
    """When the insight job last wrote (every artefact of one run shares this moment)."""
    return session.execute(select(InsightBlob.computed_at).where(InsightBlob.key == STAMP)).scalar()


def cached(session: Session, key: str, decode: Callable[[bytes], T]) -> T | None:
    """The decoded blob, from memory when the stored one has not changed since it was loaded."""
    row = session.execute(select(InsightBlob.computed_at, InsightBlob.payload).where(InsightBlob.key == STAMP)).first()
    if row is None:
        return None
    stamp = (row[0], bytes(row[1]))
    where = (_where(session), key)
    with _lock:
        hit = _cache.get(where)
        if hit and hit[0] == stamp:
            return hit[1]  # type: ignore[return-value]
    payload = session.execute(select(InsightBlob.payload).where(InsightBlob.key == key)).scalar()
    if payload is None:
        return None
    value = decode(payload)
    with _lock:
        _cache[where] = (stamp, value)
    return value


def drop_memory_copies() -> None:
    """Forgets every decoded blob held in this process (an erasure must not leave one in memory)."""
    with _lock:
        _cache.clear()


def summary(session: Session) -> dict | None:
    return cached(session, SUMMARY, lambda b: json.loads(zlib.decompress(b)))

