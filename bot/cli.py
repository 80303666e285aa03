"""`crm-bot`: run the bot, seed and import data, export, digests, insights, migrations.

Errors go to stderr as one line saying what to fix, with a non-zero exit; never a traceback
for bad input.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.errors import UserError
from crm.encryption import StoreKeyError


class CLIError(Exception):
    pass


def _settings():
    from bot.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CLIError(f"configuration: {first['msg'].removeprefix('Value error, ')}") from None


def _database(settings, url: str | None = None, *, migrate: bool = True):
    from crm.db import Database

    db = Database(url or settings.database_url, key=settings.db_key)
    if migrate:
        db.upgrade()
    return db


def _console_staff(db, settings) -> str:
    from sqlmodel import select

    from crm.models import Staff

    with db.session() as s:
        if settings.console_user:
            staff = s.exec(select(Staff).where(Staff.name == settings.console_user)).first()
            if staff is None:
                raise CLIError(f"CONSOLE_USER={settings.console_user!r} is not a staff member "
                               "(add them with `crm-bot staff add`).")
            return staff.name
        staff = s.exec(select(Staff).where(Staff.role == "admin", Staff.active == True).order_by(Staff.id)).first()  # noqa: E712
        if staff is None:
            staff = s.exec(select(Staff).where(Staff.active == True).order_by(Staff.id)).first()  # noqa: E712
        if staff is None:
            raise CLIError("no staff yet: add one with `crm-bot staff add --name \"Your Name\" --role admin`.")
        return staff.name


def _seed_if_empty(db, customers: int = 300) -> bool:
    from sqlmodel import select

    from crm.models import Customer, Staff
    from crm.seed import seed

    with db.session() as s:
        if s.exec(select(Customer.id).limit(1)).first() or s.exec(select(Staff.id).limit(1)).first():
            return False
    seed(db, customers, seed=7)
    # the insights too, now: otherwise the first `/crm next` (or digest, or graph) computes them inside
    # the command, 3-4 s on a 300-customer store, most of it training the churn model
    from crm.insights.job import refresh_insights

    refresh_insights(db)
    return True


def _serve_in_background(app, host: str, port: int) -> threading.Thread:
    """HTTP server and scheduler on their own event loop while the terminal chat owns stdin."""

    def run():
        try:
            asyncio.run(app.serve(host, port))
        except SystemExit:
            logging.getLogger("crm.app").warning("HTTP server on %s:%s did not start (port in use?)", host, port)

    thread = threading.Thread(target=run, name="crm-http", daemon=True)
    thread.start()
    return thread


def _run_server(main) -> None:
    """uvloop when installed (it is, except on Windows): its loop and thread wake-ups cost a
    fraction of asyncio's, headroom the loop needs to ack while store work runs in threads."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def cmd_run(args) -> int:
    from bot.app import App
    from integrations.console import ConsoleChat

    settings = _settings()
    host, port = args.host or settings.host, args.port or settings.port
    db = _database(settings)
    app = App(settings, db)
    app.configure_adapters()
    app.configure_scheduler()
    if app.adapters:
        print(f"crm-bot: serving {', '.join(a.name for a in app.adapters)} on http://{host}:{port}", file=sys.stderr)
        _run_server(app.serve(host, port))
        return 0
    if _seed_if_empty(db):
        print("crm-bot: the store was empty, so it now holds demo data.", file=sys.stderr)
    chat = ConsoleChat(app.engine, _console_staff(db, settings))
    app.delivery.register("console", chat.send)
    server = _serve_in_background(app, host, port)
    chat.loop()
    # a clean stop before the interpreter exits: a scheduler pass still running would otherwise find
    # the thread pools shut down under it
    app.request_shutdown()
    server.join(timeout=30)
    return 0


def cmd_demo(args) -> int:
    from bot.app import App
    from integrations.console import ConsoleChat

    settings = _settings()
    folder = Path(tempfile.mkdtemp(prefix="crm-demo-"))
    db = _database(settings, f"sqlite:///{folder / 'demo.db'}")
    _seed_if_empty(db, customers=args.customers)
    app = App(settings, db)
    chat = ConsoleChat(app.engine, _console_staff(db, settings.model_copy(update={"console_user": None})))
    chat.console.print(f"[dim]Demo store: {folder / 'demo.db'} ({args.customers} customers). "
                       "Try: /crm find glob · /crm tasks · /crm show #1[/dim]")
    chat.loop()
    return 0


def cmd_staff_add(args) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from crm import audit
    from crm.customers import resolve_staff
    from crm.models import ROLES
    from crm.staff import add_staff

    if args.role not in ROLES:
        raise CLIError(f"--role must be one of {', '.join(ROLES)}")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CLIError(f"--timezone {args.timezone!r} is not a known time zone (e.g. Asia/Shanghai)") from None
    if args.telegram_id is not None and not str(args.telegram_id).isdigit():
        raise CLIError("--telegram-id is the numeric Telegram user id")
    settings = _settings()
    db = _database(settings)
    with db.session() as s:
        manager = resolve_staff(s, args.manager) if args.manager else None
        try:
            staff = add_staff(s, name=args.name, timezone=args.timezone, values=dict(
                role=args.role, email=args.email, slack_user_id=args.slack_id,
                telegram_user_id=int(args.telegram_id) if args.telegram_id else None,
                manager_id=manager.id if manager else None, language=args.language or settings.crm_language))
        except UserError:
            raise CLIError("a staff member with that name, email, Slack id or Telegram id already exists") from None
        audit.record(s, "staff.create", actor_label="cli", platform="cli", name=staff.name, role=staff.role)
        print(f"Added {staff.name} ({staff.role}, #{staff.id}).")
    return 0


def cmd_seed(args) -> int:
    from rich.console import Console

    from crm.seed import seed
    from crm.seed_bulk import BULK_FROM, seed_bulk

    if args.customers < 1 or args.customers > 5_000_000:
        raise CLIError("--customers must be between 1 and 5,000,000")
    settings = _settings()
    db = _database(settings)
    console = Console(stderr=True)
    if args.customers >= BULK_FROM:
        seed = seed_bulk  # vectorised: a million customers in minutes rather than hours (crm/seed_bulk.py)
    with console.status("Seeding…") as status:
        result = seed(db, args.customers, seed=args.seed, progress=lambda m: status.update(f"Seeding {m}…"))
    print(f"Seeded {result.customers:,} customers, {result.companies:,} companies, {result.staff} staff, "
          f"{result.interactions:,} interactions, {result.relationships:,} relationships, {result.deals:,} deals, "
          f"{result.tasks:,} follow-ups, {result.tickets:,} tickets.")
    return 0


def _id_ranges(ids: list[int]) -> str:
    """#5–#9, #12: the ids a run created, compactly."""
    ids = sorted(ids)
    parts, start = [], None
    for i, value in enumerate(ids):
        if start is None:
            start = value
        if i + 1 == len(ids) or ids[i + 1] != value + 1:
            parts.append(f"#{start}" if start == value else f"#{start}–#{value}")
            start = None
    return ", ".join(parts)


def cmd_import(args) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    path = Path(args.file)
    if not path.is_file():
        raise CLIError(f"{path} does not exist or is not a file")
    settings = _settings()
    db = _database(settings)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=None) as progress:
        task = progress.add_task(f"Importing {args.what}", total=None)

        def advance(n, total):
            progress.update(task, completed=n, total=total)

        if args.what == "customers":
            from crm.importer import import_customers

            report = import_customers(db, path, on_progress=advance)
        elif args.what == "relationships":
            from crm.bulk_import import import_relationships

            report = import_relationships(db, path, on_progress=advance)
        else:
            from crm.bulk_import import import_interactions

            report = import_interactions(db, path, zone=settings.zone, on_progress=advance)
    for line, problem in report.errors:
        print(f"line {line}: {problem} (skipped)", file=sys.stderr)
    if args.what != "customers":
        print(report.text())
        return 0 if report.added or report.unchanged or report.updated or not report.errors else 1
    duplicates = len(report.duplicates)
    dup_note = (f" ({duplicates:,} likely duplicate{'' if duplicates == 1 else 's'} of existing customers, "
                "by line above)") if duplicates else ""
    print(f"Imported {report.imported:,} customers; skipped {report.skipped:,} bad rows{dup_note}.")
    if report.created_ids:
        print(f"Created: {_id_ranges(report.created_ids)}")
    if report.matched:
        print(f"Matched {len(report.matched):,} already imported (same external_id): "
              + ", ".join(f"line {line} → #{cid}" for line, cid in report.matched[:50])
              + (" …" if len(report.matched) > 50 else ""))
    return 0 if report.imported or report.matched or not report.errors else 1


def cmd_export(args) -> int:
    from crm.exporter import export

    settings = _settings()
    db = _database(settings)
    export(db, args.what, args.format, sys.stdout)
    return 0


def cmd_digest(args) -> int:
    from bot.digest_cli import run_digest_command

    settings = _settings()
    return run_digest_command(settings, _database(settings), manager=args.manager, print_only=args.print)


def cmd_insights(args) -> int:
    from crm.insights.job import refresh_insights

    settings = _settings()
    summary = refresh_insights(_database(settings), currency=settings.crm_currency, rates=settings.currency_rates)
    print(summary)
    return 0


def cmd_db_upgrade(args) -> int:
    settings = _settings()
    _database(settings)
    print("Database is up to date.")
    return 0


def cmd_db_encrypt(args) -> int:
    from crm import encryption

    settings = _settings()
    if not settings.db_key:
        raise CLIError("set CRM_DB_KEY to the passphrase the store should be encrypted with "
                       "(a long random one, kept in your secret manager).")
    done = encryption.encrypt(settings.database_url, settings.db_key)
    print(f"Encrypted {done.path}: {done.rows} rows in {done.tables} tables, all kept. "
          "Keep CRM_DB_KEY set from now on: without it the store cannot be opened.")
    return 0


def _new_key() -> str:
    """CRM_DB_NEW_KEY, or asked twice on a terminal (never an argument: it would land in shell history)."""
    key = os.environ.get("CRM_DB_NEW_KEY")
    if key:
        return key
    if not sys.stdin.isatty():
        raise CLIError("set CRM_DB_NEW_KEY to the new passphrase (or run `crm-bot db rekey` in a terminal "
                       "to be asked for it).")
    import getpass

    key = getpass.getpass("New CRM_DB_KEY: ")
    if not key or key != getpass.getpass("Again: "):
        raise CLIError("the two entries differ (or are empty); nothing was changed.")
    return key


def cmd_db_rekey(args) -> int:
    from crm import encryption

    settings = _settings()
    if not settings.db_key:
        raise CLIError("set CRM_DB_KEY to the store's current key; the new one comes from CRM_DB_NEW_KEY "
                       "or a prompt.")
    done = encryption.rekey(settings.database_url, settings.db_key, _new_key())
    print(f"Re-encrypted {done.path} under the new key: {done.rows} rows in {done.tables} tables, all kept. "
          "Set CRM_DB_KEY to the new key before the next start.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crm-bot", description="A CRM assistant that lives in chat.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="every configured adapter + HTTP server + scheduler (terminal chat without tokens)")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="terminal chat on a seeded demo store")
    demo.add_argument("--customers", type=int, default=500)
    demo.set_defaults(func=cmd_demo)

    staff = sub.add_parser("staff", help="manage staff").add_subparsers(dest="staff_command", required=True)
    add = staff.add_parser("add", help="add a staff member")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, help="rep | manager | admin")
    add.add_argument("--slack-id")
    add.add_argument("--telegram-id")
    add.add_argument("--email")
    add.add_argument("--timezone", default="UTC")
    add.add_argument("--manager")
    add.add_argument("--language", default=None, choices=["en", "zh"],
                     help="replies in this language (default: CRM_LANGUAGE, the business's)")
    add.set_defaults(func=cmd_staff_add)

    seed = sub.add_parser("seed", help="realistic synthetic data")
    seed.add_argument("--customers", type=int, required=True)
    seed.add_argument("--seed", type=int, default=42)
    seed.set_defaults(func=cmd_seed)

    imp = sub.add_parser("import", help="import data").add_subparsers(dest="what", required=True)
    for what, text in (("customers", "customers from a CSV file (optional external_id column)"),
                       ("relationships", "relationships: from, to (#id, external_id or email), kind, strength"),
                       ("interactions", "interactions: customer, occurred_at, kind, direction, staff, text, id")):
        ic = imp.add_parser(what, help=text)
        ic.add_argument("file")
        ic.set_defaults(func=cmd_import, what=what)

    exp = sub.add_parser("export", help="export to stdout")
    exp.add_argument("what", choices=["customers", "interactions", "insights", "audit"])
    exp.add_argument("--format", choices=["csv", "json"], default="csv")
    exp.set_defaults(func=cmd_export)

    dig = sub.add_parser("digest", help="build (and send, or print) a digest now")
    dig.add_argument("--manager")
    dig.add_argument("--print", action="store_true")
    dig.set_defaults(func=cmd_digest)

    ins = sub.add_parser("insights", help="graph metrics and models").add_subparsers(dest="insights_command",
                                                                                      required=True)
    ins.add_parser("refresh", help="recompute now (the nightly job)").set_defaults(func=cmd_insights)

    dbp = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    dbp.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    dbp.add_parser("encrypt", help="encrypt the SQLite store with CRM_DB_KEY (SQLCipher), keeping every row"
                   ).set_defaults(func=cmd_db_encrypt)
    dbp.add_parser("rekey", help="move the encrypted store from CRM_DB_KEY to CRM_DB_NEW_KEY (or a prompt)"
                   ).set_defaults(func=cmd_db_rekey)
    return p


def main(argv: list[str] | None = None) -> int:
    from bot.logs import configure

    configure(os.environ.get("LOG_LEVEL", "WARNING"))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (CLIError, UserError, StoreKeyError) as exc:
        print(f"crm-bot: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        print(f"crm-bot: cannot use the database ({reason}); check DATABASE_URL.", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
