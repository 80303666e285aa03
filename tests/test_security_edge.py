"""Findings 4 and 5 against a real `crm-bot run` process: memory under huge unsigned bodies, and
service while thousands of connections stall.

The server is the installed ``crm-bot run`` (Slack over HTTP, SQLite store, the Slack Web API
stand-in of tests/fakes in this process). It starts with 1,024 open files, as the attacker's
target did; the server itself must lift that for its connection cap. Memory is the server's
resident set (/proc/<pid>/status), sampled every 10 ms while the attack runs.
"""
from __future__ import annotations

import os
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from crm.db import Database
from tests.fakes.slack_api import sign
from tests.helpers import make_team
from tests.slack_harness import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the server's memory")

SECRET = "edge-signing-secret"
CRM_BOT = Path(sys.executable).with_name("crm-bot")
MB = 1024 * 1024


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _start_with_1024_files():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


class RunningServer:
    def __init__(self, tmp_path: Path, slack_api_url: str):
        db_path = tmp_path / "edge.db"
        db = Database(f"sqlite:///{db_path}")
        db.upgrade()
        make_team(db)
        db.dispose()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_", "CRM_DB_KEY"))}
        env |= {"DATABASE_URL": f"sqlite:///{db_path}", "SLACK_BOT_TOKEN": "xoxb-edge",
                "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack_api_url, "LOG_LEVEL": "WARNING",
                "CRM_EXPORT_DIR": str(tmp_path / "exports"), "CRM_CHART_DIR": str(tmp_path / "charts")}
        self.log = tmp_path / "server.log"
        self.proc = subprocess.Popen([str(CRM_BOT), "run", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, cwd=tmp_path, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                     preexec_fn=_start_with_1024_files)
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "crm-bot run did not start"
            time.sleep(0.1)

    def signed_command(self, fake, text: str = "help", user: str = "UALICE", timeout: float = 10) -> int:
        form = urlencode({"team_id": fake.TEAM_ID, "channel_id": "C0SALES", "user_id": user, "command": "/crm",
                          "text": text, "response_url": fake.response_url(), "trigger_id": f"t.{time.time_ns()}"})
        r = httpx.post(self.base + "/slack/events", content=form, timeout=timeout,
                       headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form, SECRET)})
        return r.status_code

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path, slack_api):
    running = RunningServer(tmp_path, slack_api.api_url)
    yield running
    running.stop()


def _send_huge(port: int, headers: bytes, total: int, chunked: bool, outcome: list) -> None:
    """Sends ``total`` bytes of body as fast as the server takes them; stops when it hangs up."""
    sent = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(headers)
            piece = b"A" * (256 * 1024)
            while sent < total:
                data = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
                sock.sendall(data)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            outcome.append(("sent all", sock.recv(100)[:12]))
    except OSError as err:
        outcome.append(("cut off", f"{type(err).__name__} after {sent // MB} MB"))


@pytest.mark.slow
def test_six_parallel_100_mb_unsigned_bodies_stay_under_100_mb(server, slack_api):
    assert server.signed_command(slack_api) == 200  # warm: Bolt, the engine, the store are loaded
    slack_api.wait_for("response")
    baseline = _rss(server.proc.pid)
    stamp = str(int(time.time())).encode()
    plain = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    looks_signed = plain + b"X-Slack-Request-Timestamp: " + stamp + b"\r\nX-Slack-Signature: v0=" + b"0" * 64 + b"\r\n"
    attacks = [(plain + b"Content-Length: %d\r\n\r\n" % (100 * MB), False),  # no signature at all
               (looks_signed + b"Content-Length: %d\r\n\r\n" % (100 * MB), False),  # a forged one
               (looks_signed + b"Transfer-Encoding: chunked\r\n\r\n", True),  # no length to refuse up front
               (plain + b"Transfer-Encoding: chunked\r\n\r\n", True),
               (looks_signed + b"Transfer-Encoding: chunked\r\n\r\n", True),
               (looks_signed + b"Content-Length: %d\r\n\r\n" % (100 * MB), False)]
    peak, outcomes, stop = [baseline], [], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss(server.proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    senders = [threading.Thread(target=_send_huge, args=(server.port, head, 100 * MB, chunked, outcomes))
               for head, chunked in attacks]
    started = time.monotonic()
    for t in senders:
        t.start()
    for t in senders:
        t.join(90)
    time.sleep(0.3)
    stop.set()
    sampler.join()
    grew = (peak[0] - baseline) / MB
    print(f"\nserver RSS baseline {baseline / MB:.0f} MB, peak {peak[0] / MB:.0f} MB (+{grew:.1f} MB) "
          f"under six parallel 100 MB bodies in {time.monotonic() - started:.1f} s; {outcomes}")
    assert len(outcomes) == 6
    assert grew < 100, f"server grew by {grew:.0f} MB"
    assert all(kind == "cut off" or head.startswith((b"HTTP/1.1 4",)) for kind, head in outcomes), outcomes
    assert server.signed_command(slack_api) == 200  # and it still serves


@pytest.mark.slow
def test_healthz_and_signed_commands_answer_while_2000_connections_stall(server, slack_api):
    wanted = 2000 + 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    stamp = str(int(time.time())).encode()
    stalled: list[socket.socket] = []
    try:
        for n in range(2000):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if n % 2:  # headers complete, body promised (Content-Length: 1000000) and never sent
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"X-Slack-Request-Timestamp: " + stamp + b"\r\nX-Slack-Signature: v0=00\r\n"
                             b"Content-Length: 1000000\r\n\r\n{")
            else:  # half a request line and headers, then nothing
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le")
            stalled.append(sock)
        opened = time.monotonic()
        health = httpx.get(server.base + "/healthz", timeout=10)
        assert health.status_code == 200
        assert server.signed_command(slack_api, user="UALICE") == 200
        slack_api.wait_for("response", timeout=20)
        answered_after = time.monotonic() - opened
        # the stalled connections are still open while we were answered...
        still_open = sum(1 for s in stalled if not _closed(s))
        # ...and the server closes them itself once their deadlines pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            closed = sum(1 for s in stalled if _closed(s))
            if closed == len(stalled):
                break
            time.sleep(0.5)
        print(f"\n2,000 stalled connections: /healthz and a signed command answered {answered_after:.2f} s after "
              f"they were open ({still_open} still open then); the server closed {closed} of them within "
              f"{time.monotonic() - opened:.1f} s")
        assert still_open >= 1500
        assert closed == len(stalled)
    finally:
        _seen_closed.clear()
        for sock in stalled:
            sock.close()
    assert httpx.get(server.base + "/healthz", timeout=10).status_code == 200


_seen_closed: set[int] = set()


def _closed(sock: socket.socket) -> bool:
    """True when the server hung up (EOF or reset), reading whatever it answered first."""
    if sock.fileno() in _seen_closed:
        return True
    poller = select.poll()  # select() cannot watch descriptors above 1,024
    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    if not poller.poll(0):
        return False
    try:
        data = sock.recv(4096, socket.MSG_DONTWAIT)
        while data:
            data = sock.recv(4096, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        pass
    _seen_closed.add(sock.fileno())
    return True
