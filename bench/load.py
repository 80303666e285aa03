"""Load, crash and several-instance test of the real `crm-bot run` on loopback.

    .venv/bin/python bench/load.py                       # 1,000 slash commands + 5,000 Telegram updates, SQLite
    .venv/bin/python bench/load.py --crash               # kill -9 mid-burst, restart, redeliver and retry
    .venv/bin/python bench/load.py --instances 2 --database-url postgresql+psycopg://…   # two servers, one store

The servers are real `crm-bot run` subprocesses (Slack over HTTP with a signing secret,
Telegram in webhook mode with a secret token); their Slack Web API and Telegram Bot API are
the stand-ins from tests/fakes, served by a process of their own (bench/fakes_process.py), as
the real ones are elsewhere. 50 staff send signed `/crm` slash commands (find, show, log,
remind) concurrently; 500 customers write to the Telegram bot,
each chat's updates in order, with no more requests in flight than the bot's setWebhook
max_connections, as Telegram's webhook delivery does. With several instances the client spreads
requests round-robin over them, as a load balancer would.

Checked afterwards, in the store: zero errors (every request answered 2xx, no apology in any
answer), every Telegram message stored exactly once, every `log` stored exactly once, every
`remind` made exactly one task, every ack under 3 s. With ``--crash`` the first instance is
killed with SIGKILL during the burst and restarted; every update not acknowledged with 200 is
redelivered (as Telegram does) and every slash command without a 200 is retried with
X-Slack-Retry-Num (as Slack does): nothing acknowledged may be lost, nothing stored twice.

Prints throughput and p50/p99 latency per stream, and ``BENCH name=value unit`` lines for
bench/run_all.py.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from crm.customers import create_customer  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Customer, Interaction, Staff, Task  # noqa: E402
from bench.fakes_process import FakesProcess  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi, sign  # noqa: E402
from tests.fakes.telegram_api import TOKEN  # noqa: E402

SIGNING_SECRET = "load-signing-secret"
WEBHOOK_SECRET = "load-webhook-secret"
ACK_LIMIT = 3.0
FIRST_CHAT = 880_000_000
CRM_BOT = Path(sys.executable).with_name("crm-bot")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the store ----------------------------------------------------------------------------------

NAMES = ["Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Acme", "Soylent", "Tyrell", "Cyberdyne",
         "王伟", "李娜", "张敏", "刘洋", "陈静"]


def prepare_store(url: str, staff: int, customers: int) -> tuple[list[str], list[int]]:
    """Migrates the store and adds the staff (with Slack ids) and customers the traffic uses."""
    db = Database(url)
    db.upgrade()
    with db.session() as s:
        existing = s.exec(select(Staff.slack_user_id).where(col(Staff.slack_user_id).like("U0LOAD%"))).all()
        if not existing:
            admin = Staff(name="Load Admin", role="admin", slack_user_id="U0LOADADMIN", email="admin@load.test")
            s.add(admin)
            for n in range(staff):
                s.add(Staff(name=f"Load Rep {n:02d}", role="rep", slack_user_id=f"U0LOAD{n:02d}",
                            email=f"rep{n}@load.test", timezone=random.Random(n).choice(
                                ["UTC", "America/New_York", "Asia/Shanghai", "Europe/London"])))
            s.flush()
            reps = s.exec(select(Staff).where(Staff.role == "rep")).all()
            for n in range(customers):
                base = NAMES[n % len(NAMES)]
                create_customer(s, f"{base} Load {n}", company=f"{base} Group", email=f"c{n}@load.test",
                                owner=reps[n % len(reps)])
        slack_ids = [sid for sid in s.exec(select(Staff.slack_user_id).where(
            col(Staff.slack_user_id).like("U0LOAD%"), Staff.role == "rep")).all()]
        customer_ids = list(s.exec(select(Customer.id).where(col(Customer.email).like("%@load.test"))).all())
    db.dispose()
    return sorted(slack_ids), customer_ids


def prepare_store_with(code: Path | None, url: str, staff: int, customers: int) -> tuple[list[str], list[int]]:
    """prepare_store run by another checkout's code, so the store has that code's migrations (``code`` None:
    this code's own, in this process)."""
    if code is None:
        return prepare_store(url, staff, customers)
    script = ("import json, sys; from bench.load import prepare_store; "
              "print(json.dumps(prepare_store(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))")
    done = subprocess.run([sys.executable, "-c", script, url, str(staff), str(customers)], cwd=code,
                          env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True, text=True, check=True)
    slack_ids, customer_ids = json.loads(done.stdout.strip().splitlines()[-1])
    return slack_ids, customer_ids


def checkout(ref: str) -> Path:
    """The code of git ``ref`` in a temporary folder (git archive: the repository is not touched)."""
    folder = Path(tempfile.mkdtemp(prefix="crm-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


# ---- the servers --------------------------------------------------------------------------------

class Server:
    """One `crm-bot run` subprocess on a fixed port (so a restart comes back at the same address)."""

    def __init__(self, env: dict, port: int, workdir: Path, name: str, code: Path | None = None,
                 launcher: str | None = None):
        self.env, self.port, self.workdir, self.name = env, port, workdir, name
        self.code = code  # another checkout's code (--baseline), else this one
        # Python source run with ``-c`` instead of `crm-bot` (it calls bot.cli's main with the arguments),
        # e.g. to change one thing first (bench_telegram_ack: the processor not started); on ``code`` too
        self.launcher = launcher
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        self.starts += 1
        log = open(self.workdir / f"{self.name}-{self.starts}.log", "wb")
        if self.launcher is not None:
            command = [sys.executable, "-c", self.launcher]
        else:
            command = [str(CRM_BOT)] if self.code is None else [sys.executable, "-m", "bot.cli"]
        env = {**self.env, "PYTHONPATH": str(self.code or ROOT)} if self.code or self.launcher else self.env
        self.proc = subprocess.Popen([*command, "run", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {log.name}")
            try:
                if httpx.get(self.base + "/healthz", timeout=5).status_code == 200:  # a loaded machine is slow to start
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, exactly like a crashed machine."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def server_env(database_url: str, slack, telegram) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "DATABASE_"))}
    env.update({"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-load", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.api_url, "SLACK_INBOX_CHANNEL": "C0INBOX", "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": telegram.api_url, "TELEGRAM_WEBHOOK_URL": "https://load.example.test",
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    return env


# ---- the traffic --------------------------------------------------------------------------------

@dataclass
class Request:
    """One request and what happened to it; ``acked`` once any delivery got a 200."""

    stream: str  # "slack" | "telegram"
    key: str  # trigger id or "chat:message"
    kind: str  # find/show/log/remind, or "message"
    body: dict
    acked: bool = False
    attempts: int = 0
    statuses: list = field(default_factory=list)
    latencies: list = field(default_factory=list)
    sent_at: list = field(default_factory=list)  # seconds since the burst began, per delivery


class Balancer:
    """Round-robin over the instances, as a load balancer in front of them would do."""

    def __init__(self, servers: list[Server]):
        self.servers = servers
        self._next = itertools.count()

    def url(self, path: str) -> str:
        return self.servers[next(self._next) % len(self.servers)].base + path


def slash_commands(n: int, users: list[str], customers: list[int], slack, seed: int) -> list[Request]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        user = users[i % len(users)]
        cid = rnd.choice(customers)
        pick = rnd.random()
        if pick < 0.3:
            kind, text = "find", rnd.choice(["globex", "load 1", "王伟", "hooli", "acme grp", "c1@load"])
        elif pick < 0.6:
            kind, text = "show", f"show #{cid}"
        elif pick < 0.85:
            kind, text = "log", f"log #{cid} call yesterday 4pm load check L{i} discussed renewal 续约"
        else:
            kind, text = "remind", f"remind #{cid} tomorrow 3pm load-check R{seed}.{i}"
        if kind == "find":
            text = f"find {text}"
        trigger = f"load.{seed}.{i}"
        form = {"token": "legacy", "team_id": FakeSlackApi.TEAM_ID, "team_domain": "load", "channel_id": "C0SALES",
                "channel_name": "sales", "user_id": user, "user_name": user.lower(), "command": "/crm",
                "text": text, "api_app_id": "A0FAKE", "response_url": slack.response_url(f"L{seed}x{i}"),
                "trigger_id": trigger}
        out.append(Request("slack", trigger, kind, form))
    return out


TEXTS = ["Hello, is my order shipped?", "你好，我的订单什么时候发货？", "Need an invoice 🙏", "ok", "Can you call me back?",
         "价格可以再优惠一点吗", "Thanks! 👍", "Where is the tracking number?", "我想修改地址", "Is the 2nd item in stock?"]


def telegram_updates(chats: int, per_chat: int, seed: int) -> list[list[Request]]:
    rnd = random.Random(seed)
    update_ids = itertools.count(seed * 10_000_000 + 1)
    out = []
    for c in range(chats):
        chat = FIRST_CHAT + seed * 100_000 + c
        lang = rnd.choice(["en", "zh-hans"])
        person = {"id": chat, "is_bot": False, "first_name": f"Cust{c}", "language_code": lang}
        sequence = []
        for m in range(1, per_chat + 1):
            message = {"message_id": m, "date": int(time.time()), "from": person,
                       "chat": {"id": chat, "type": "private", "first_name": person["first_name"]},
                       "text": f"{rnd.choice(TEXTS)} #{m}"}
            sequence.append(Request("telegram", f"{chat}:{m}", "message",
                                    {"update_id": next(update_ids), "message": message}))
        out.append(sequence)
    return out


class Traffic:
    def __init__(self, balancer: Balancer, http: aiohttp.ClientSession):
        self.balancer = balancer
        self.http = http
        self.sent = 0
        self.began = time.perf_counter()

    async def slack(self, request: Request, retry: bool = False) -> None:
        body = urlencode(request.body)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SIGNING_SECRET)}
        if retry:
            headers |= {"X-Slack-Retry-Num": str(request.attempts), "X-Slack-Retry-Reason": "http_timeout"}
        await self._deliver(request, self.balancer.url("/slack/events"), data=body.encode(), headers=headers)

    async def telegram(self, request: Request) -> None:
        await self._deliver(request, self.balancer.url("/telegram/webhook"),
                            data=json.dumps(request.body).encode(),
                            headers={"Content-Type": "application/json",
                                     "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})

    async def _deliver(self, request: Request, url: str, **kw) -> None:
        request.attempts += 1
        started = time.perf_counter()
        request.sent_at.append(started - self.began)
        try:
            async with self.http.post(url, **kw) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # refused or reset: the instance is down
            status = type(exc).__name__
        request.latencies.append(time.perf_counter() - started)
        request.statuses.append(status)
        self.sent += 1
        if status == 200:
            request.acked = True
        else:
            await asyncio.sleep(0.2)  # a client backs off a little after a failure


async def run_streams(traffic: Traffic, commands: list[Request], chats: list[list[Request]], users: int,
                      chat_concurrency: int) -> tuple[float, float]:
    """Both streams at once; returns each stream's wall time."""

    async def slack_user(mine: list[Request]):
        for request in mine:
            await traffic.slack(request)

    async def chat(sequence: list[Request], gate: asyncio.Semaphore):
        async with gate:
            for request in sequence:
                await traffic.telegram(request)

    async def timed(coros) -> float:
        started = time.perf_counter()
        await asyncio.gather(*coros)
        return time.perf_counter() - started

    per_user = [commands[u::users] for u in range(users)]
    gate = asyncio.Semaphore(chat_concurrency)
    slack_time, telegram_time = await asyncio.gather(timed([slack_user(m) for m in per_user]),
                                                     timed([chat(s, gate) for s in chats]))
    return slack_time, telegram_time


async def redeliver(traffic: Traffic, commands: list[Request], chats: list[list[Request]], rounds: int = 5) -> None:
    """What Telegram and Slack do for deliveries that got no 200: send them again."""
    for _ in range(rounds):
        pending_chats = [[r for r in seq if not r.acked] for seq in chats]
        pending_cmds = [r for r in commands if not r.acked]
        if not pending_cmds and not any(pending_chats):
            return

        # Slack retries and Telegram redeliveries arrive spread out, not as one wave: bounded here too
        slack_gate, chat_gate = asyncio.Semaphore(50), asyncio.Semaphore(40)

        async def command(request):
            async with slack_gate:
                await traffic.slack(request, retry=True)

        async def chat(sequence):
            async with chat_gate:
                for request in sequence:
                    await traffic.telegram(request)

        await asyncio.gather(*(command(r) for r in pending_cmds), *(chat(s) for s in pending_chats if s))


# ---- checks -------------------------------------------------------------------------------------

@dataclass
class Result:
    commands: int
    updates: int
    errors: list[str]
    slack_time: float
    telegram_time: float
    slack_latencies: list[float]
    telegram_latencies: list[float]
    slow_acks: int
    slowest: list[tuple[float, float, str]]  # (latency, seconds into the burst, stream) of every ack over 1 s
    redelivered: int
    lost: int
    duplicated: int
    answers: int
    answers_lag: float  # seconds from the end of the burst until the last command was answered
    answers_time: float  # seconds from the start of the burst until the last command was answered
    instances: int
    crashed: bool
    peak_rss_mb: float
    telegram_stored_time: float = float("nan")  # from the burst's start until every update was processed

    @property
    def ok(self) -> bool:
        return not self.errors and not self.lost and not self.duplicated and not self.slow_acks


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def wait_for_inbound(url: str, timeout: float) -> float:
    """Waits until no acknowledged Telegram update is left unprocessed (telegram_inbound); returns when that was
    (perf_counter). A store without that table (an older --baseline) processed each update before its 200."""
    from sqlalchemy import text

    db = Database(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with db.engine.connect() as conn:
                    left = conn.execute(text("SELECT count(*) FROM telegram_inbound WHERE processed_at IS NULL")).scalar()
            except Exception:
                left = 0
            if not left or time.monotonic() > deadline:
                return time.perf_counter()
            time.sleep(0.05)
    finally:
        db.dispose()


def wait_for_answers(slack, commands: list[Request], timeout: float) -> dict[str, list[dict]]:
    """The answers each command got at its response_url, once every acknowledged command has one."""
    wanted = {r.body["response_url"].rsplit("/", 1)[1]: r for r in commands if r.acked}
    deadline = time.monotonic() + timeout
    while True:
        by_rid: dict[str, list[dict]] = {}
        for call in slack.calls_to("response"):
            by_rid.setdefault(call.path.rsplit("/", 1)[1], []).append(call.params)
        if all(rid in by_rid for rid in wanted) or time.monotonic() > deadline:
            return by_rid
        time.sleep(0.2)


def check_store(url: str, commands: list[Request], chats: list[list[Request]]) -> tuple[int, int, list[str]]:
    """(lost, duplicated, notes): acknowledged work missing from the store, and work stored twice."""
    db = Database(url)
    notes = []
    try:
        with db.session() as s:
            stored = Counter(s.exec(select(Interaction.source_message_id).where(
                Interaction.source_platform == "telegram",
                col(Interaction.source_message_id).like(f"{str(FIRST_CHAT)[:3]}%"))).all())
            logs = Counter(s.exec(select(Interaction.source_message_id).where(
                Interaction.source_platform == "slack", col(Interaction.source_message_id).like("cmd:load.%"))).all())
            tasks = Counter(s.exec(select(Task.title).where(col(Task.title).like("load-check R%"))).all())
    finally:
        db.dispose()
    lost = duplicated = 0
    for request in (r for seq in chats for r in seq):
        count = stored.get(request.key, 0)
        if request.acked and count == 0:
            lost += 1
            notes.append(f"telegram {request.key} acknowledged but not stored")
        if count > 1:
            duplicated += 1
    for request in commands:
        if request.kind == "log":
            count = logs.get(f"cmd:{request.key}", 0)
        elif request.kind == "remind":
            count = tasks.get(f"load-check R{request.key.removeprefix('load.')}", 0)
        else:
            continue
        if request.acked and count == 0:
            lost += 1
            notes.append(f"slack {request.kind} {request.key} acknowledged but not stored")
        if count > 1:
            duplicated += 1
            notes.append(f"slack {request.kind} {request.key} stored {count} times")
    return lost, duplicated, notes


# ---- the run ------------------------------------------------------------------------------------

def run_load(*, database_url: str | None = None, commands: int = 1000, users: int = 50, chats: int = 500,
             per_chat: int = 10, instances: int = 1, crash: bool = False, customers: int = 300,
             chat_concurrency: int | None = None, seed: int = 1, workdir: Path | None = None,
             answer_timeout: float = 120, profile: Path | None = None, code: Path | None = None,
             probe=None) -> Result:
    """``probe``: told when the burst starts and ends (``burst_started(servers, fakes)``,
    ``burst_ended(servers, fakes)``), e.g. bench/load_scaling.py's CPU and lock-wait meter."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="crm-load-"))
    url = database_url or f"sqlite:///{workdir / 'load.db'}"
    if url.startswith("sqlite") and instances > 1:
        raise SystemExit("several instances need one shared PostgreSQL store: pass --database-url postgresql+psycopg://…")
    slack_ids, customer_ids = prepare_store_with(code, url, users, customers)
    fakes = FakesProcess()
    slack, telegram = fakes.slack, fakes.telegram
    env = server_env(url, slack, telegram)
    servers = [Server(env, free_port(), workdir, f"instance{n + 1}", code) for n in range(instances)]
    try:
        for server in servers:
            server.start()
        profilers = [start_profiler(server, profile) for server in servers] if profile else []
        # as Telegram does: no more updates in flight than the bot asked for in setWebhook
        chat_concurrency = chat_concurrency or telegram.webhook.get("max_connections", 40)
        cmd_requests = slash_commands(commands, slack_ids, customer_ids, slack, seed)
        chat_requests = telegram_updates(chats, per_chat, seed)
        total = len(cmd_requests) + chats * per_chat

        async def drive():
            # idle connections are dropped before uvicorn's 5 s keep-alive ends, or a request sent on a
            # connection the server is closing fails with a disconnect that says nothing about the bot.
            # aiohttp, not httpx: httpx's pool spent most of this process's CPU choosing connections at
            # this concurrency, and what it measured was then its own queue, not the server
            connector = aiohttp.TCPConnector(limit=400, keepalive_timeout=2.0)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
                traffic = Traffic(Balancer(servers), http)

                async def crasher():
                    while traffic.sent < total * 0.4:
                        await asyncio.sleep(0.02)
                    victim = servers[0]
                    await asyncio.to_thread(victim.kill)
                    print(f"  killed {victim.name} (SIGKILL) after {traffic.sent:,} requests; restarting…",
                          file=sys.stderr)
                    await asyncio.to_thread(victim.start)
                    print(f"  {victim.name} is back", file=sys.stderr)

                crash_task = asyncio.create_task(crasher()) if crash else None
                if probe is not None:
                    probe.burst_started(servers, fakes)
                times = await run_streams(traffic, cmd_requests, chat_requests, users, chat_concurrency)
                if probe is not None:
                    probe.burst_ended(servers, fakes)
                if crash_task:
                    await crash_task
                before = traffic.sent
                await redeliver(traffic, cmd_requests, chat_requests)
                return times, traffic.sent - before

        burst_began = time.perf_counter()
        (slack_time, telegram_time), redelivered = asyncio.run(drive())
        burst_over = time.perf_counter()
        # acknowledged Telegram updates are stored as they came and processed just after: wait for that
        drained = wait_for_inbound(url, answer_timeout)
        telegram_stored_time = (telegram_time + max(0.0, drained - burst_over)) if not crash else float("nan")
        answers = wait_for_answers(slack, cmd_requests, answer_timeout)
        answers_lag = time.perf_counter() - burst_over
        for profiler in profilers:
            stop_profiler(profiler)
        for server in servers:
            server.stop()
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        lost, duplicated, notes = check_store(url, cmd_requests, chat_requests)
        errors = list(notes)
        every = cmd_requests + [r for seq in chat_requests for r in seq]
        if not crash:
            errors += [f"{r.stream} {r.key}: {r.statuses}" for r in every if r.statuses != [200]]
        errors += [f"{r.stream} {r.key}: never acknowledged ({r.statuses})" for r in every if not r.acked]
        for request in cmd_requests:
            texts = json.dumps(answers.get(request.body["response_url"].rsplit("/", 1)[1], []), ensure_ascii=False)
            if request.acked and texts == "[]":
                errors.append(f"slack {request.key}: acknowledged but never answered")
            elif "went wrong" in texts or "Traceback" in texts:
                errors.append(f"slack {request.key}: answered with an apology")
        acked_latency = lambda rs: [lat for r in rs for lat, st in zip(r.latencies, r.statuses) if st == 200]  # noqa: E731
        slowest = sorted(((lat, at, r.stream) for r in every for lat, at, st in zip(r.latencies, r.sent_at, r.statuses)
                          if st == 200 and lat >= 1), reverse=True)
        slack_lat = acked_latency(cmd_requests)
        telegram_lat = acked_latency([r for seq in chat_requests for r in seq])
        return Result(commands=len(cmd_requests), updates=chats * per_chat, errors=errors, slack_time=slack_time,
                      telegram_time=telegram_time, slack_latencies=slack_lat, telegram_latencies=telegram_lat,
                      slow_acks=sum(1 for lat in slack_lat + telegram_lat if lat >= ACK_LIMIT), slowest=slowest,
                      redelivered=redelivered, lost=lost, duplicated=duplicated,
                      answers=sum(1 for r in cmd_requests if r.body["response_url"].rsplit("/", 1)[1] in answers),
                      answers_lag=answers_lag, answers_time=burst_over - burst_began + answers_lag,
                      instances=instances, crashed=crash, peak_rss_mb=peak_rss_mb,
                      telegram_stored_time=telegram_stored_time)
    finally:
        for server in servers:
            server.stop()
        fakes.stop()


def start_profiler(server: Server, folder: Path, gil: bool = True) -> subprocess.Popen:
    """py-spy sampling the server process (100 Hz) into ``folder``/<name>.txt, as
    collapsed stacks. Only samples of a thread holding the GIL count (``--gil``): threads waiting for
    a lock, a queue or the network are not CPU, and the GIL is what one process's threads share.
    SQLite's own C work runs without the GIL and so is not in the profile (see the raw sqlite3
    ceiling of bench_telegram_ingest.py for that part). bench/profile_summary.py summarises."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{server.name}.txt"
    return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(server.proc.pid),
                             "--rate", "100", *(["--gil"] if gil else []), "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    try:
        profiler.wait(30)
    except subprocess.TimeoutExpired:
        profiler.kill()


def report(result: Result, label: str, bench_lines: bool = True) -> None:
    def row(name, n, seconds, lat):
        return (f"{name:<22}{n:>7,}{n / max(seconds, 1e-9):>10.1f}{percentile(lat, 50) * 1000:>10.1f}"
                f"{percentile(lat, 99) * 1000:>10.1f}{max(lat, default=0) * 1000:>10.1f}")

    print(f"\nLoad on `crm-bot run` ({label}; {result.instances} instance(s){', kill -9 mid-burst' if result.crashed else ''})")
    print(f"{'stream':<22}{'n':>7}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(row("slack slash commands", result.commands, result.slack_time, result.slack_latencies))
    print(row("telegram updates", result.updates, result.telegram_time, result.telegram_latencies))
    if result.updates and result.telegram_stored_time == result.telegram_stored_time:  # not NaN
        print(f"{'  ... all processed':<22}{result.updates:>7,}{result.updates / result.telegram_stored_time:>10.1f}"
              "  (acknowledged = stored as received; processed into messages, tickets and relays by then)")
    print(f"{'slash command answers':<22}{result.answers:>7,}{result.answers / result.answers_time:>10.1f}"
          f"   (posted at the response_url, from the start of the burst until the last one)")
    print(f"errors: {len(result.errors)}   acks >= {ACK_LIMIT:.0f} s: {result.slow_acks}   redelivered/retried: "
          f"{result.redelivered}   lost: {result.lost}   stored twice: {result.duplicated}   "
          f"answered commands: {result.answers}/{result.commands} (the last {result.answers_lag:.1f} s after the "
          f"burst)   peak server RSS: {result.peak_rss_mb:.0f} MB")
    every = result.slack_latencies + result.telegram_latencies
    slowest = ", ".join(f"{lat * 1000:.0f} ms ({stream} at {at:.0f} s)" for lat, at, stream in result.slowest[:5])
    print(f"ack margin: over 1 s {sum(lat >= 1 for lat in every)}, over 2 s {sum(lat >= 2 for lat in every)}"
          + (f"; slowest: {slowest}" if slowest else ""))
    for line in result.errors[:15]:
        print("  " + line)
    if not bench_lines:
        return
    mode = "crash" if result.crashed else f"x{result.instances}" if result.instances > 1 else "single"
    print(f"BENCH load.{mode}.slack_rps={result.commands / result.slack_time:.1f} req/s")
    print(f"BENCH load.{mode}.slack_p50={percentile(result.slack_latencies, 50) * 1000:.1f} ms")
    print(f"BENCH load.{mode}.slack_p99={percentile(result.slack_latencies, 99) * 1000:.1f} ms")
    print(f"BENCH load.{mode}.slack_answered_rps={result.answers / result.answers_time:.1f} req/s")
    print(f"BENCH load.{mode}.telegram_rps={result.updates / max(result.telegram_time, 1e-9):.1f} req/s")
    print(f"BENCH load.{mode}.telegram_p50={percentile(result.telegram_latencies, 50) * 1000:.1f} ms")
    print(f"BENCH load.{mode}.telegram_p99={percentile(result.telegram_latencies, 99) * 1000:.1f} ms")
    print(f"BENCH load.{mode}.errors={len(result.errors) + result.lost + result.duplicated} count")
    print(f"BENCH load.{mode}.peak_rss={result.peak_rss_mb:.0f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", help="default: a fresh SQLite file; PostgreSQL for --instances > 1")
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--chats", type=int, default=500)
    p.add_argument("--per-chat", type=int, default=10)
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--crash", action="store_true", help="kill -9 an instance mid-burst and restart it")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", type=Path, help="write py-spy CPU profiles of the servers into this folder")
    p.add_argument("--baseline", metavar="GIT_REF",
                   help="first run the same load on that commit's code, then on this one; print both and ratios "
                        "(on a shared machine only figures from the same run compare)")
    p.add_argument("--rounds", type=int, default=2, help="with --baseline: alternating rounds of both")
    args = p.parse_args()
    url = args.database_url
    label = "PostgreSQL" if url and url.startswith("postgresql") else "SQLite"
    common = dict(database_url=url, commands=args.commands, users=args.users, chats=args.chats,
                  per_chat=args.per_chat, instances=args.instances, crash=args.crash, seed=args.seed)
    if not args.baseline:
        result = run_load(**common, profile=args.profile)
        report(result, label)
        return 0 if result.ok else 1
    if url:
        raise SystemExit("--baseline needs a fresh store per run: leave --database-url out (SQLite)")
    code = checkout(args.baseline)
    pairs = []
    for n in range(args.rounds):  # alternating, so a change in the machine's load hits both sides alike
        profile = args.profile / f"round{n + 1}" if args.profile else None
        baseline = run_load(**common, code=code, profile=profile / "baseline" if profile else None)
        report(baseline, f"{label}, baseline {args.baseline}, round {n + 1}", bench_lines=False)
        result = run_load(**common, profile=profile)
        report(result, f"{label}, this code, round {n + 1}", bench_lines=n == args.rounds - 1)
        pairs.append((baseline, result))
        if not result.ok:
            return 1
    compare(pairs, args.baseline)
    return 0


def compare(pairs: list[tuple[Result, Result]], ref: str) -> None:
    """This code against the baseline, measured in the same run, round by round."""
    print(f"\nSame run, this code / {ref} (throughput ratio; p99 ack this / baseline):")
    ratios = {"slack": [], "telegram": [], "slack_answered": []}
    for n, (before, after) in enumerate(pairs, 1):
        line = []
        mine, theirs = after.answers / after.answers_time, before.answers / before.answers_time
        ratios["slack_answered"].append(mine / theirs)
        line.append(f"slash answers {mine:.1f}/{theirs:.1f} /s = x{mine / theirs:.2f}")
        for stream, count, seconds, lat in (("slack", "commands", "slack_time", "slack_latencies"),
                                            ("telegram", "updates", "telegram_time", "telegram_latencies")):
            if not getattr(after, count) or not getattr(before, count):
                continue  # a stream left out of this run (--chats 0)
            mine = getattr(after, count) / getattr(after, seconds)
            theirs = getattr(before, count) / getattr(before, seconds)
            ratios[stream].append(mine / theirs)
            line.append(f"{stream} {mine:.1f}/{theirs:.1f} req/s = x{mine / theirs:.2f}, p99 "
                        f"{percentile(getattr(after, lat), 99) * 1000:.0f}/{percentile(getattr(before, lat), 99) * 1000:.0f} ms")
        print(f"  round {n}: " + ";  ".join(line))
    for stream, values in ratios.items():
        if not values:
            continue
        print(f"BENCH load.baseline.{stream}_ratio={sorted(values)[len(values) // 2]:.2f} x")


if __name__ == "__main__":
    sys.exit(main())
