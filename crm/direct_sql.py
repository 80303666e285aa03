"""The few statements of the Telegram ingest's hot path, sent straight to the DBAPI cursor (issue 17).

Why: storing a batch of customer messages (crm/inbox/batch.py) and marking the queue's rows
processed (crm/telegram_inbound.py) is a handful of ``executemany`` and multi-row ``INSERT`` s a
round. Through SQLAlchemy Core each costs its execution context, a cache lookup and, per row and
per column, a bind processor (a ``UTCDateTime`` value went through two Python calls and a
``datetime.replace``): bench/bench_inbound_round.py measured SQLAlchemy's share at ~40% of a
processing round's CPU. Here the ``INSERT`` and ``UPDATE`` statements are built once per dialect from
the models' own tables (names quoted by the dialect), and a select defined in Core (and run through
Core elsewhere, e.g. the inbound queue's) is compiled once per dialect to positional SQL
(``positional``); parameters are tuples in column order, and times are converted by one function:
exactly the text SQLAlchemy stores on SQLite, the aware datetime on PostgreSQL. Not built from the
tables: the batch store's three lookups in crm/inbox/batch.py, typed by hand around ``in_sql``'s
lists; tests/test_inbox_batch.py checks that every name in them is a table or column of the models.

The cursor is the caller's connection's (``Connection.connection.driver_connection``), so the
statements run in the caller's transaction. SQLAlchemy's cursor events do not see them; nothing
of ours listens to those on this path.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import Table
from sqlalchemy.engine import Connection

UTC = timezone.utc


def cursor(conn: Connection):
    """A DBAPI cursor on ``conn``'s connection, inside its transaction."""
    return conn.connection.driver_connection.cursor()


def sqlite_time(value: datetime | None) -> str | None:
    """What SQLAlchemy's ``UTCDateTime`` stores on SQLite: naive UTC text with microseconds
    ('2026-11-24 10:00:00.000000'); tests/test_direct_sql.py compares it with SQLAlchemy's own."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond:06d}")


def aware_time(value: datetime | None) -> datetime | None:
    """PostgreSQL (``timestamptz``): the aware datetime itself. ``UTCDateTime`` sends it converted to UTC; this
    sends it in its own zone: the same instant, which is what ``timestamptz`` stores."""
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return value


def time_param(dialect: str):
    """The function that turns a ``UTCDateTime`` value into its DBAPI parameter for ``dialect``."""
    return aware_time if dialect == "postgresql" else sqlite_time


def sqlite_time_value(value: str | None) -> datetime | None:
    """A stored ``UTCDateTime`` read back on SQLite, as SQLAlchemy reads it (``datetime.fromisoformat``, then
    the column type makes it aware UTC: a naive text is UTC, a text carrying an offset is converted)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def aware_time_value(value: datetime | None) -> datetime | None:
    """PostgreSQL: the driver's aware datetime in UTC, as ``UTCDateTime`` hands it back."""
    return None if value is None else value.astimezone(UTC)


def time_value(dialect: str):
    """The function that turns a ``UTCDateTime`` column's DBAPI value into what SQLAlchemy would give."""
    return aware_time_value if dialect == "postgresql" else sqlite_time_value


@lru_cache(maxsize=512)
def in_sql(dialect: str, template: str, n: int) -> str:
    """``template`` with its ``{in}`` made a list of ``n`` parameter markers (a round's sizes repeat)."""
    return template.replace("{in}", ", ".join([marker(dialect)] * n))


def select_rows(conn: Connection, sql: str, params) -> list[tuple]:
    """The rows of one ``SELECT`` (tuples), on the DBAPI cursor of ``conn``."""
    cur = cursor(conn)
    try:
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        cur.close()


def marker(dialect: str) -> str:
    """The DBAPI's positional parameter marker: sqlite3's qmark, psycopg's format."""
    return "%s" if dialect == "postgresql" else "?"


@lru_cache(maxsize=None)
def _names(dialect_name: str, table: Table, columns: tuple[str, ...]) -> tuple[str, str]:
    quote = _preparer(dialect_name).quote
    return quote(table.name), ", ".join(quote(c) for c in columns)


@lru_cache(maxsize=None)
def _dialect(dialect_name: str):
    """The dialect of our driver with the DBAPI's positional markers (``marker``)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import psycopg
        return psycopg.dialect(paramstyle="format")
    from sqlalchemy.dialects.sqlite import pysqlite
    return pysqlite.dialect(paramstyle="qmark")


def _preparer(dialect_name: str):
    return _dialect(dialect_name).identifier_preparer


def positional(dialect: str, statement) -> tuple[str, tuple[tuple[str, object], ...]]:
    """A Core statement compiled once for ``dialect``'s DBAPI: (its SQL with positional markers, its parameters
    in order as (bind name, the value compiled in or None)). ``params`` makes the tuple to send. So a query
    defined once in Core (and used there too) can be sent on the cursor without a copy typed by hand."""
    compiled = statement.compile(dialect=_dialect(dialect))
    defaults = compiled.params
    return compiled.string, tuple((name, defaults.get(name)) for name in compiled.positiontup)


def params(spec: tuple[tuple[str, object], ...], values: dict) -> tuple:
    """The parameter tuple of a ``positional`` statement: ``values`` by bind name, else what was compiled in.
    The values go to the DBAPI as they are (times: ``time_param``)."""
    return tuple(values.get(name, default) for name, default in spec)


@lru_cache(maxsize=512)
def insert_sql(dialect: str, table: Table, columns: tuple[str, ...], rows: int = 1,
               conflict: tuple[str, ...] = (), returning: tuple[str, ...] = ()) -> str:
    """``INSERT`` of ``rows`` rows of ``columns`` (multi-row VALUES: one statement, and RETURNING works),
    ``ON CONFLICT (conflict) DO NOTHING`` when given (a row clashing with a unique key is skipped, and
    not returned). Cached per shape: a round's batch sizes repeat."""
    name, cols = _names(dialect, table, columns)
    one = "(" + ", ".join([marker(dialect)] * len(columns)) + ")"
    sql = f"INSERT INTO {name} ({cols}) VALUES " + ", ".join([one] * rows)
    if conflict:
        sql += f" ON CONFLICT ({_names(dialect, table, conflict)[1]}) DO NOTHING"
    if returning:
        sql += f" RETURNING {_names(dialect, table, returning)[1]}"
    return sql


@lru_cache(maxsize=None)
def update_sql(dialect: str, table: Table, columns: tuple[str, ...], key: str = "id", literal: str = "") -> str:
    """``UPDATE table SET c = ?, … [, literal] WHERE key = ?``: parameters are the columns, then the key."""
    quote = _preparer(dialect).quote
    mark = marker(dialect)
    sets = ", ".join([f"{quote(c)} = {mark}" for c in columns] + ([literal] if literal else []))
    return f"UPDATE {quote(table.name)} SET {sets} WHERE {quote(key)} = {mark}"


def insert_rows(conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple], *,
                conflict: tuple[str, ...] = (), returning: tuple[str, ...] = (), chunk: int = 200) -> list[tuple]:
    """Inserts ``rows`` (tuples in ``columns`` order) in multi-row statements of at most ``chunk`` rows;
    with ``returning``, the returned rows (of the rows inserted: with ``conflict``, a skipped one is not)."""
    out: list[tuple] = []
    if not rows:
        return out
    dialect = conn.dialect.name
    cur = cursor(conn)
    try:
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            cur.execute(insert_sql(dialect, table, columns, len(part), conflict, returning),
                        [value for row in part for value in row])
            if returning:
                out.extend(cur.fetchall())
    finally:
        cur.close()
    return out


def execute_many(conn: Connection, sql: str, rows: list[tuple]) -> None:
    """One statement for every parameter tuple of ``rows`` (``executemany``)."""
    if not rows:
        return
    cur = cursor(conn)
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()
