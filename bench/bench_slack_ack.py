"""Slack ack latency of `/crm show` at 100k customers, through the real app over real HTTP.

    .venv/bin/python bench/bench_slack_ack.py [--customers 100000] [--db seeded.db] [--n 300]

Serves `App` (Bolt inside the ASGI server, uvicorn on loopback) against the Slack Web API
stand-in from tests/, then sends N signed `/crm show <customer>` requests one after the
other. "ack" is the HTTP response Slack would wait for (its limit is 3 s); "answer" is when
the card reached the response_url. The seeded store is reused (bench/results) and copied,
so the benchmark's audit rows do not accumulate in it.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.common import seeded_sqlite, summary_ms, table  # noqa: E402
from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Customer, Staff  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi, sign  # noqa: E402
from tests.slack_harness import Server, free_port  # noqa: E402

SECRET = "bench-secret"


def prepare(customers: int, db_path: str | None) -> tuple[Database, Path]:
    source = seeded_sqlite(customers, db_path)
    source_path = Path(source.url.removeprefix("sqlite:///"))
    source.dispose()
    work = Path(tempfile.mkdtemp(prefix="crm-bench-slack-")) / "crm.db"
    shutil.copy(source_path, work)
    db = Database(f"sqlite:///{work}")
    with db.session() as s:
        admin = s.exec(select(Staff).where(Staff.role == "admin")).first()
        admin.slack_user_id = "UBENCH"
        s.add(admin)
    return db, work


def run(customers: int, db_path: str | None, n: int) -> None:
    db, work = prepare(customers, db_path)
    with db.session() as s:
        total = s.exec(select(Customer.id).order_by(Customer.id.desc()).limit(1)).one()
        rows = s.exec(select(Customer.id, Customer.name)
                      .where(Customer.id.in_(random.Random(7).sample(range(1, total + 1), n)))).all()
    refs = [f"#{cid}" if i % 2 else f'"{name}"' for i, (cid, name) in enumerate(rows)]
    fake = FakeSlackApi().start()
    settings = Settings(_env_file=None, database_url=db.url, slack_bot_token="xoxb-bench",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = App(settings, db)
    app.configure_adapters()
    port = free_port()
    server = Server(app.asgi(), port).start()
    url = f"http://127.0.0.1:{port}/slack/events"
    acks, answers, statuses = [], [], set()
    try:
        with httpx.Client(timeout=30) as http:
            for i, ref in enumerate([refs[0]] * 3 + refs):  # three warm-up requests, not counted
                rid = f"b{i}"
                body = urlencode({"team_id": "T0FAKE", "channel_id": "CBENCH", "user_id": "UBENCH",
                                  "command": "/crm", "text": f"show {ref}", "trigger_id": f"t{i}",
                                  "response_url": fake.response_url(rid)})
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SECRET)}
                started = time.perf_counter()
                r = http.post(url, content=body, headers=headers)
                acked = time.perf_counter()
                fake.wait_for("response", where=lambda c, p=f"/response/{rid}": c.path == p, timeout=30)
                answered = time.perf_counter()
                if i >= 3:
                    statuses.add(r.status_code)
                    acks.append(acked - started)
                    answers.append(answered - started)
    finally:
        server.stop()
        fake.stop()
        db.dispose()
        shutil.rmtree(work.parent, ignore_errors=True)
    ack_med, ack_p99 = summary_ms(acks)
    ans_med, ans_p99 = summary_ms(answers)
    print(f"/crm show over Slack HTTP, {customers:,} customers, {n} sequential requests, HTTP {sorted(statuses)}")
    print(table([("ack (HTTP 200 to Slack)", f"{ack_med:.1f}", f"{ack_p99:.1f}", f"{max(acks) * 1000:.1f}"),
                 ("card at response_url", f"{ans_med:.1f}", f"{ans_p99:.1f}", f"{max(answers) * 1000:.1f}")],
                ("", "median ms", "p99 ms", "max ms")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", help="a seeded SQLite file to reuse (seeding 100k takes a minute or two)")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    run(args.customers, args.db, args.n)


if __name__ == "__main__":
    main()
