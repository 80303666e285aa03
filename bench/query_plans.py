"""Every SQL statement `/crm find|show|log|intro` runs, with its SQLite query plan and time.

    .venv/bin/python bench/query_plans.py --db path.db [--user NAME] [command ...]

A statement whose plan scans a whole table ("SCAN customer") or sorts a customer's whole history
("USE TEMP B-TREE FOR ORDER BY") grows with the store: at 1,000,000 customers it breaks the
25 ms target. Those lines are marked ``<-- grows``. Statements are captured through SQLAlchemy's
``before_cursor_execute`` event while the commands run through ``Engine.handle``, so what is
planned is exactly what the product sends.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402
from sqlmodel import select  # noqa: E402

import handlers  # noqa: E402,F401  registers every `/crm` command
from bot.engine import Engine  # noqa: E402
from bot.messages import IncomingMessage  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Staff  # noqa: E402

DEFAULT_COMMANDS = ["find smith", "find 王", "find 王伟", "find glob", "find globex corporation", "find jame",
                    "find smithx", "find zzqxv nothing", "find 华为科技", "show #1", "show #2",
                    "log #3 call yesterday 4pm discussed renewal pricing", "intro #5", "intro #6"]


def grows(plan_line: str) -> bool:
    """A plan step whose cost follows the table's size rather than the answer's: a full scan of a
    table or index (FTS5's own lookups excepted) or a sort in a temporary b-tree."""
    line = plan_line.upper().strip()
    if "USE TEMP B-TREE" in line:
        return True
    # a subquery's own steps are judged on their own lines ("SCAN (subquery-1)" reads what they return)
    return line.startswith("SCAN") and not any(x in line for x in ("VIRTUAL TABLE", "CONSTANT ROW", "(SUBQUERY-"))


def plans(db: Database, commands: list[str], user: str | None) -> None:
    seen: list[tuple[str, object, float]] = []
    started: dict[int, float] = {}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters, time.perf_counter() - started.pop(id(cursor), time.perf_counter())))

    engine = Engine(db, Settings(_env_file=None, database_url=db.url))
    with db.session() as s:
        who = user or s.exec(select(Staff.name).where(Staff.role == "admin")).first()
    for line in commands:
        seen.clear()
        engine.handle(IncomingMessage("console", who, line))  # warm the caches (graph, staff)
        seen.clear()
        began = time.perf_counter()
        reply = engine.handle(IncomingMessage("console", who, line))
        total = time.perf_counter() - began
        print(f"\n=== /crm {line}   ({total * 1000:.1f} ms, {len(seen)} statements)  -> {reply.text[:70]!r}")
        raw = db.engine.raw_connection()
        try:
            for statement, params, took in seen:
                head = " ".join(statement.split())
                print(f"  [{took * 1000:6.2f} ms] {head[:150]}")
                verb = head.split(" ", 1)[0].upper()
                if verb not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
                    continue
                try:
                    cur = raw.cursor()
                    cur.execute("EXPLAIN QUERY PLAN " + statement, params if params is not None else ())
                    for row in cur.fetchall():
                        detail = row[-1]
                        print(f"        {detail}{'   <-- grows' if grows(detail) else ''}")
                except Exception as err:  # an executemany or a dialect-specific statement
                    print(f"        (no plan: {err})")
        finally:
            raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--user")
    parser.add_argument("commands", nargs="*")
    args = parser.parse_args()
    db = Database(f"sqlite:///{args.db}")
    plans(db, args.commands or DEFAULT_COMMANDS, args.user)


if __name__ == "__main__":
    main()
