"""Inbound Telegram messages per second through the whole path, against a raw sqlite3 ceiling.

    .venv/bin/python bench/bench_telegram_ingest.py [--n 3000] [--chats 100] [--clients 8]

Full path: an HTTP POST of a Telegram update to the real `crm-bot run` app (uvicorn,
Starlette, the secret check, python-telegram-bot's Update.de_json, the customer lookup,
the update-id claim, the ticket, the interaction, one SQLite transaction) until its 200 —
which the app only sends once the message is stored. Chats are concurrent, each chat's
messages sequential, as Telegram delivers them. The Bot API is the local stand-in.

Ceiling: a plain ``sqlite3`` loop inserting the same rows into the same ``interaction``
table, one transaction per row, WAL and synchronous=NORMAL like the app's store.

Before/after in the same run (the machine is shared, so figures from different runs do not
compare): the full path is measured twice, with one transaction per update as before group
commit (``integrations.group_commit.MAX_BATCH = 1``) and with group commit, and both are
printed as ratios to the ceiling measured in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlmodel import func, select  # noqa: E402

from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Interaction, Staff  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeTelegramApi, UpdateFactory  # noqa: E402

SECRET = "bench-secret"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: App, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app.asgi(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


async def post_all(url: str, per_chat: dict[int, list[dict]], clients: int) -> None:
    chats = list(per_chat)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def client(mine: list[int]) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            for n in range(max(len(per_chat[c]) for c in mine)):
                for chat in mine:
                    if n < len(per_chat[chat]):
                        response = await http.post(url, json=per_chat[chat][n], headers=headers)
                        if response.status_code != 200:
                            raise RuntimeError(f"update not acknowledged: {response.status_code} {response.text}")

    await asyncio.gather(*(client(chats[i::clients]) for i in range(clients)))


def full_path(folder: Path, n: int, chats: int, clients: int, batch: int | None = None) -> tuple[float, int]:
    from integrations import group_commit

    group_commit.MAX_BATCH = batch or 64
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{folder / 'app.db'}")
    db.upgrade()
    with db.session() as s:
        s.add(Staff(name="Ada Admin", role="admin", slack_user_id="UADA"))
    fake = FakeTelegramApi().start()
    settings = Settings(_env_file=None, database_url=db.url, telegram_bot_token=TOKEN,
                        telegram_api_url=fake.api_url, telegram_webhook_url="https://bench.example/telegram/webhook",
                        telegram_webhook_secret=SECRET, business_hours="00:00-23:59",
                        business_days="mon,tue,wed,thu,fri,sat,sun")
    app = App(settings, db)
    app.configure_adapters()
    port = free_port()
    server = serve(app, port)
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    updates = UpdateFactory()
    updates.now = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    chat_ids = [600_000 + i for i in range(chats)]
    try:
        # every chat's first message creates its lead and ticket: done before the clock starts
        asyncio.run(post_all(url, {c: [updates.text(c, "hello")] for c in chat_ids}, clients))
        per_chat = {c: [] for c in chat_ids}
        for i in range(n):
            chat = chat_ids[i % chats]
            per_chat[chat].append(updates.text(chat, f"message {i}: when does my order ship? 订单什么时候发货？"))
        started = time.perf_counter()
        asyncio.run(post_all(url, per_chat, clients))
        elapsed = time.perf_counter() - started
        with db.session() as s:
            stored = s.exec(select(func.count()).select_from(Interaction)).one() - chats
    finally:
        server.should_exit = True
        time.sleep(0.5)
        fake.stop()
        db.dispose()
    return elapsed, stored


def raw_ceiling(folder: Path, n: int) -> float:
    db = Database(f"sqlite:///{folder / 'raw.db'}")
    db.upgrade()
    db.dispose()
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO customer (name, name_key, language, tier, stage, tags, marketing_opt_out, "
                 "telegram_blocked, search_text, created_at, updated_at) VALUES ('c', 'c', 'en', 'standard', 'lead', "
                 "'', 0, 0, '', '2026-11-24 10:00:00', '2026-11-24 10:00:00')")
    started = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO interaction (customer_id, kind, direction, channel, text, occurred_at, created_at, "
                     "source_platform, source_message_id) VALUES (1, 'message', 'inbound', 'telegram', ?, "
                     "'2026-11-24 10:00:00', '2026-11-24 10:00:00', 'telegram', ?)",
                     (f"message {i}: when does my order ship? 订单什么时候发货？", f"600000:{i}"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp:
        folder = Path(tmp)
        before_seconds, stored_before = full_path(folder / "before", args.n, args.chats, args.clients, batch=1)
        app_seconds, stored = full_path(folder / "after", args.n, args.chats, args.clients)
        for count in (stored_before, stored):
            if count != args.n:
                raise SystemExit(f"expected {args.n} stored interactions, found {count}")
        raw_seconds = raw_ceiling(folder, args.n)
    app_rate, raw_rate, before_rate = args.n / app_seconds, args.n / raw_seconds, args.n / before_seconds
    print(f"inbound Telegram messages, {args.n:,} from {args.chats} chats, {args.clients} concurrent clients")
    print(f"  before: a transaction per update:             {before_rate:8,.0f} msg/s  ({before_seconds:.2f} s)"
          f"  ratio to ceiling {before_rate / raw_rate:.3f}")
    print(f"  full path (webhook POST -> stored interaction): {app_rate:8,.0f} msg/s  ({app_seconds:.2f} s)")
    print(f"  raw sqlite3 insert loop (ceiling):              {raw_rate:8,.0f} rows/s ({raw_seconds:.2f} s)")
    print(f"  ratio full path / ceiling:                      {app_rate / raw_rate:8.3f}")
    print(f"  group commit / a transaction per update:        {app_rate / before_rate:8.2f}x")


if __name__ == "__main__":
    main()
