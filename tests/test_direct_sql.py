"""crm/direct_sql.py writes what SQLAlchemy would: the same stored time text, rows readable through the ORM, and
``ON CONFLICT DO NOTHING`` skipping (and not returning) a row that clashes, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from crm import direct_sql
from crm.models import ProcessedEvent
from crm.types import UTCDateTime

pytestmark = pytest.mark.store

UTC = timezone.utc
MOMENTS = [datetime(2026, 11, 24, 10, 0, tzinfo=UTC), datetime(2026, 11, 24, 10, 0, 0, 1, tzinfo=UTC),
           datetime(1999, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC),
           datetime(2026, 11, 24, 18, 30, 7, 120_000, tzinfo=timezone(timedelta(hours=8))),
           datetime(2026, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))]


def test_sqlite_time_is_the_text_sqlalchemy_stores():
    from sqlalchemy.dialects.sqlite import pysqlite

    processor = UTCDateTime()._cached_bind_processor(pysqlite.dialect())  # as SQLAlchemy binds a value
    for moment in MOMENTS:
        assert direct_sql.sqlite_time(moment) == processor(moment)
    assert direct_sql.sqlite_time(None) is None
    with pytest.raises(ValueError):
        direct_sql.sqlite_time(datetime(2026, 11, 24, 10, 0))


def test_sqlite_time_value_reads_what_sqlalchemy_reads():
    from sqlalchemy.dialects.sqlite import pysqlite

    processor = UTCDateTime()._cached_result_processor(pysqlite.dialect(), None)
    for text_ in ["2026-11-24 10:00:00.000000", "2026-11-24 10:00:00", "1999-01-02 03:04:05.999999",
                  "2026-11-24 10:00:00.5", direct_sql.sqlite_time(MOMENTS[3])]:
        assert direct_sql.sqlite_time_value(text_) == processor(text_)
    assert direct_sql.sqlite_time_value(None) is None


def test_a_stored_time_with_an_offset_reads_back_as_sqlalchemy_reads_it(db):
    """A UTCDateTime text carrying an offset (written by hand or another tool, not by us): SQLAlchemy converts it
    to UTC (``astimezone``); relabelling it UTC would move it by the offset."""
    from sqlalchemy.dialects.sqlite import pysqlite

    processor = UTCDateTime()._cached_result_processor(pysqlite.dialect(), None)
    for text_ in ["2026-11-24 18:30:07.120000+08:00", "2026-03-01 00:00:00-05:30", "2026-11-24 10:00:00+00:00"]:
        got = direct_sql.sqlite_time_value(text_)
        assert got == processor(text_) and got.utcoffset() == timedelta(0)
        assert got.tzinfo == UTC
    assert direct_sql.sqlite_time_value("2026-11-24 18:30:07+08:00") == datetime(2026, 11, 24, 10, 30, 7, tzinfo=UTC)
    if db.dialect != "sqlite":
        return
    table = ProcessedEvent.__table__
    with db.write_connection() as conn:
        conn.execute(text("INSERT INTO processed_event (platform, event_id, processed_at) "
                          "VALUES ('test', 'offset', '2026-11-24 18:30:07.120000+08:00')"))
    with db.engine.connect() as conn:
        raw = conn.execute(text("SELECT processed_at FROM processed_event WHERE event_id = 'offset'")).scalar()
        want = conn.execute(select(table.c.processed_at).where(table.c.event_id == "offset")).scalar()
    assert direct_sql.sqlite_time_value(raw) == want == datetime(2026, 11, 24, 10, 30, 7, 120_000, tzinfo=UTC)


def test_a_select_of_a_list_reads_as_sqlalchemy_does(db):
    table = ProcessedEvent.__table__
    with db.write_connection() as conn:
        conn.execute(table.insert(), [{"platform": "test", "event_id": f"s{n}", "processed_at": MOMENTS[n]}
                                      for n in range(4)])
    read = direct_sql.time_value(db.dialect)
    with db.engine.connect() as conn:
        names = ["s1", "s3", "nobody"]
        sql = direct_sql.in_sql(conn.dialect.name, "SELECT event_id, processed_at FROM processed_event "
                                "WHERE event_id IN ({in}) ORDER BY event_id", len(names))
        got = [(e, read(at)) for e, at in direct_sql.select_rows(conn, sql, names)]
        want = conn.execute(select(table.c.event_id, table.c.processed_at).where(table.c.event_id.in_(names))
                            .order_by(table.c.event_id)).all()
    assert got == [tuple(r) for r in want] == [("s1", MOMENTS[1]), ("s3", MOMENTS[3].astimezone(UTC))]


def test_inserted_rows_read_back_through_sqlalchemy_and_conflicts_are_skipped(db):
    stamp = direct_sql.time_param(db.dialect)
    table = ProcessedEvent.__table__
    with db.write_connection() as conn:
        conn.execute(table.insert(), [{"platform": "test", "event_id": "e1", "processed_at": MOMENTS[0]}])
    with db.write_connection() as conn:
        returned = direct_sql.insert_rows(
            conn, table, ("platform", "event_id", "processed_at"),
            [("test", f"e{n}", stamp(moment)) for n, moment in enumerate(MOMENTS, 1)],
            conflict=("platform", "event_id"), returning=("event_id",), chunk=2)
    assert sorted(e for (e,) in returned) == [f"e{n}" for n in range(2, len(MOMENTS) + 1)]
    with db.engine.connect() as conn:
        stored = dict(conn.execute(select(table.c.event_id, table.c.processed_at).where(table.c.platform == "test")).all())
        # the same comparisons the store makes, on the stored text (SQLite) or timestamptz (PostgreSQL)
        later = conn.execute(select(table.c.event_id).where(table.c.platform == "test",
                                                            table.c.processed_at > MOMENTS[0])).scalars().all()
    assert stored == {f"e{n}": moment.astimezone(UTC) for n, moment in enumerate(MOMENTS, 1)}
    assert sorted(later) == sorted(f"e{n}" for n, m in enumerate(MOMENTS, 1) if m > MOMENTS[0])


def test_update_many_sets_each_row(db):
    table = ProcessedEvent.__table__
    with db.write_connection() as conn:
        conn.execute(table.insert(), [{"platform": "test", "event_id": f"u{n}", "processed_at": MOMENTS[0]}
                                      for n in range(3)])
        ids = conn.execute(select(table.c.id).where(table.c.platform == "test").order_by(table.c.id)).scalars().all()
        stamp = direct_sql.time_param(conn.dialect.name)
        direct_sql.execute_many(conn, direct_sql.update_sql(conn.dialect.name, table, ("processed_at",),
                                                            literal="event_id = event_id || '!'"),
                                [(stamp(MOMENTS[n + 1]), i) for n, i in enumerate(ids[:2])])
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id FROM processed_event WHERE platform = 'test' ORDER BY id")).scalars()
        assert list(rows) == ["u0!", "u1!", "u2"]
        got = conn.execute(select(table.c.processed_at).where(table.c.platform == "test").order_by(table.c.id)).scalars()
        assert list(got) == [MOMENTS[1], MOMENTS[2].astimezone(UTC), MOMENTS[0]]


def test_a_core_select_compiled_for_the_cursor_reads_what_core_reads(db):
    """``positional``: the queue's Core selects (``claim`` runs them through Core) sent on the DBAPI cursor by
    ``pending`` read the same rows: held, lapsed, processed and chat-less rows on both dialects."""
    from crm import telegram_inbound as queue

    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    with db.write_connection() as conn:
        queue.append(conn, [(1, 500, "{}"), (2, 500, "{}"), (3, 501, "{}"), (4, None, "{}"), (5, 502, "{}")], now=now)
        queue.lease(conn, [1], holder="h", now=now)  # held: 500's later rows wait
        queue.lease(conn, [3], holder="h", now=now - timedelta(hours=1))  # lapsed: free again
        queue.mark_processed(conn, [5], now=now)
    with db.engine.connect() as conn:
        rows, held = queue.pending(conn, limit=10, now=now)
        core_rows = [queue._pending(*r) for r in conn.execute(queue._oldest_unheld(now, 10)).all()]
        core_held = set(conn.execute(queue._held_chats(now).distinct()).scalars())
        assert queue.pending(conn, limit=2, now=now)[0] == rows[:2]
    assert rows == core_rows and [r.update_id for r in rows] == [2, 3, 4]
    assert held == core_held == {500}
