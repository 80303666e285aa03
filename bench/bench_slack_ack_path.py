"""What a slash command's ack costs in-process, against Bolt's own floor, in the same run.

    .venv/bin/python bench/bench_slack_ack_path.py [--n 3000] [--concurrency 50]

No HTTP server and no answers: signed `/crm` form bodies go straight into the request handler,
``concurrency`` at a time, one core, one process. Three rows:

* **Bolt alone**: ``AsyncApp.async_dispatch`` of the request (its body parse, signature check,
  middleware, listener matching) to a listener that only acks: the framework's own ceiling.
* **our ack path**: ``SlackAdapter._http`` as `crm-bot run` serves it: the same Bolt dispatch plus
  our shape check, the workspace and redelivery middleware and the command journal (the ack waits
  for the batched, committed INSERT on SQLite). The answer is queued, not run (answers are timed
  by bench/load.py).
* **our ack path, a transaction per ack**: the same with the journal batch limited to one command,
  as before group commit.

Acks/s of each and the ratio to Bolt alone are printed; the machine is shared, so only the ratios
of one run compare.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from starlette.requests import Request  # noqa: E402

from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Staff  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi, sign  # noqa: E402

SECRET = "bench-secret"


def bodies(n: int, fake: FakeSlackApi, tag: str) -> list[tuple[str, dict]]:
    out = []
    for i in range(n):
        body = urlencode({"token": "legacy", "team_id": FakeSlackApi.TEAM_ID, "channel_id": "CBENCH",
                          "user_id": "UBENCH", "user_name": "bench", "command": "/crm", "text": f"show #{i % 50 + 1}",
                          "api_app_id": "A0FAKE", "response_url": fake.response_url(f"{tag}{i}"),
                          "trigger_id": f"{tag}.{i}"})
        out.append((body, {"content-type": "application/x-www-form-urlencoded", **{
            k.lower(): v for k, v in sign(body, SECRET).items()}}))
    return out


def starlette_request(body: str, headers: dict) -> Request:
    raw = body.encode()
    scope = {"type": "http", "method": "POST", "path": "/slack/events", "query_string": b"",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}

    async def receive():
        return {"type": "http.request", "body": raw, "more_body": False}

    return Request(scope, receive)


async def timed(requests, handle, concurrency: int) -> tuple[float, list[int]]:
    gate = asyncio.Semaphore(concurrency)
    statuses = []

    async def one(item):
        async with gate:
            statuses.append(await handle(item))

    started = time.perf_counter()
    await asyncio.gather(*(one(item) for item in requests))
    return time.perf_counter() - started, statuses


async def bolt_alone(fake: FakeSlackApi, n: int, concurrency: int) -> float:
    bolt = AsyncApp(client=AsyncWebClient(token="xoxb-bench", base_url=fake.api_url), signing_secret=SECRET,
                    process_before_response=True)

    @bolt.command("/crm")
    async def only_ack(ack):
        await ack()

    async def handle(item):
        body, headers = item
        return (await bolt.async_dispatch(AsyncBoltRequest(body=body, headers=headers))).status

    await handle(bodies(1, fake, "warm")[0])
    seconds, statuses = await timed(bodies(n, fake, "bolt"), handle, concurrency)
    assert set(statuses) == {200}, set(statuses)
    return n / seconds


async def our_path(fake: FakeSlackApi, n: int, concurrency: int, *, batch: int | None, tag: str) -> float:
    folder = Path(tempfile.mkdtemp(prefix="crm-bench-ack-"))
    db = Database(f"sqlite:///{folder / 'crm.db'}")
    db.upgrade()
    with db.session() as s:
        s.add(Staff(name="Bench Admin", role="admin", slack_user_id="UBENCH"))
    settings = Settings(_env_file=None, database_url=db.url, slack_bot_token="xoxb-bench",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = App(settings, db)
    app.configure_adapters()
    adapter = next(a for a in app.adapters if a.name == "slack")
    if batch is not None:
        adapter.journal.max_batch = batch
    adapter._answer_later = lambda *args, **kwargs: None  # the ack path only: answers are load.py's

    async def handle(item):
        return (await adapter._http(starlette_request(*item))).status_code

    try:
        await handle(bodies(1, fake, f"warm{tag}")[0])
        seconds, statuses = await timed(bodies(n, fake, tag), handle, concurrency)
        assert set(statuses) == {200}, set(statuses)
    finally:
        db.dispose()
    return n / seconds


async def run(n: int, concurrency: int) -> None:
    fake = FakeSlackApi().start()
    try:
        rows = [("Bolt alone (dispatch to an ack-only listener)", await bolt_alone(fake, n, concurrency)),
                ("our ack path (journal group-committed)", await our_path(fake, n, concurrency, batch=None, tag="ours")),
                ("our ack path, a transaction per ack", await our_path(fake, n, concurrency, batch=1, tag="one"))]
    finally:
        fake.stop()
    floor = rows[0][1]
    print(f"slash-command acks in-process, {n:,} signed requests, {concurrency} at a time, one process")
    print(f"{'':<48}{'acks/s':>10}{'x Bolt alone':>14}")
    for label, rate in rows:
        print(f"{label:<48}{rate:>10.0f}{rate / floor:>14.2f}")
    print(f"BENCH slack_ack_path.bolt_alone={floor:.0f} req/s")
    print(f"BENCH slack_ack_path.ours={rows[1][1]:.0f} req/s")
    print(f"BENCH slack_ack_path.ours_ratio={rows[1][1] / floor:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.n, args.concurrency))


if __name__ == "__main__":
    main()
