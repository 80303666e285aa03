"""Routes answered at the edge (Telegram's webhook) are served by the HTTP protocol itself (bot/edge.py
``edge_protocol(edge=...)``, issue 17): no ASGI cycle or task per request, one write per answer. These tests run
the real uvicorn server with `crm-bot run`'s protocol on loopback and send raw HTTP, and check every answer
against the same request served the ASGI way (the same ``Edge`` behind plain uvicorn), byte for byte but for
the date and the failure reference."""
from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.edge import Edge, RouteLimits, _Budget, edge_protocol, secret_header_check
from bot.edge_routes import uvicorn_config
from bot.metrics import Metrics, MetricsMiddleware

SECRET = "s3cret"
CAP = 1024


class Answers:
    """The answered route's function; records how it was called."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.in_task: list[bool] = []
        self.delay = 0.0

    def __call__(self, body: bytes):
        self.bodies.append(body)
        self.in_task.append(asyncio.current_task() is not None)
        if body.startswith(b"raise"):
            raise ValueError("broken")
        if body.startswith(b"status 999"):  # no such status
            return 999, b"{}"
        if body.startswith(b"now"):
            return 200, b'{"now":true}'
        if body.startswith(b"coro"):
            async def later():
                await asyncio.sleep(0.01)
                return 202, b'{"coro":true}'
            return later()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if body.startswith(b"fail"):
            loop.call_later(0.01, future.set_exception, RuntimeError("commit failed"))
        elif body.startswith(b"stored500"):
            loop.call_later(0.01, future.set_result, (500, b'{"ok":false}'))
        elif body.startswith(b"no pair"):  # resolved with what is not (status, body)
            loop.call_later(0.01, future.set_result, None)
        else:
            loop.call_later(self.delay if not body.startswith(b"quick") else 0.0, future.set_result,
                            (200, b'{"ok":true,"n":' + str(len(body)).encode() + b"}"))
        return future


@contextmanager
def serving(direct: bool, budget: int = 64 * 1024 * 1024, body_timeout: float = 0.5, header_timeout: float | None = None,
            before_body=None, keep_alive: float | None = None):
    answers = Answers()

    async def inner_post(request):
        return PlainTextResponse("Starlette answered", status_code=299)

    inner = Starlette(routes=[Route("/hook", inner_post, methods=["POST"])])
    metrics = Metrics(routes=["/hook"])
    edge = Edge(inner, routes={"/hook": RouteLimits(CAP, before_body=before_body or secret_header_check("X-Secret", SECRET),
                                                    answer=answers)},
                budget=_Budget(budget), body_timeout=body_timeout)
    asgi = MetricsMiddleware(edge, metrics)

    def config_for(port: int) -> uvicorn.Config:
        config = uvicorn_config(asgi, "127.0.0.1", port, edge if direct else None, metrics if direct else None)
        config.lifespan = "off"
        if keep_alive is not None:
            config.timeout_keep_alive = keep_alive
        if header_timeout is not None:
            config.http = edge_protocol(header_timeout=header_timeout, max_header_bytes=4096,
                                        edge=edge if direct else None, metrics=metrics if direct else None)
        return config

    with uvicorn_in_a_thread(config_for, start_within=20, stop_within=20) as port:
        yield port, answers, metrics


@contextmanager
def uvicorn_in_a_thread(config_for, *, start_within: float, stop_within: float):
    """uvicorn serving ``config_for(port)`` on a free port of its own, in a thread; yields the port once it serves."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(config_for(port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(stop_within)
        sock.close()


def post(body: bytes, secret: str | None = SECRET, path: str = "/hook", extra: str = "", length: int | None = None,
         chunked: bool = False) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if secret is not None:
        head += f"X-Secret: {secret}\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
        body = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n"
    else:
        head += f"Content-Length: {len(body) if length is None else length}\r\n"
    return (head + extra + "\r\n").encode() + body


_readers: dict = {}  # socket's fd → its buffered reader


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response (several may arrive in one segment: what is left waits in the socket's reader)."""
    reader = _readers.get(sock.fileno())
    if reader is None:
        reader = _readers[sock.fileno()] = sock.makefile("rb")
    status_line = reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    headers = {}
    while (line := reader.readline().decode("latin-1").strip()):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader.read(int(headers.get("content-length", 0)))


@contextmanager
def connection(port: int, timeout: float = 5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            yield sock
        finally:
            reader = _readers.pop(sock.fileno(), None)
            if reader is not None:
                reader.close()


def exchange(port: int, raw: bytes, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    with connection(port, timeout) as sock:
        sock.sendall(raw)
        return read_response(sock)


def comparable(response) -> tuple:
    status, headers, body = response
    body = re.sub(rb"ref [0-9a-f]{8}", b"ref *", body)
    return status, {k: v for k, v in headers.items() if k != "date"}, body


def counted(metrics: Metrics, status: str) -> float:
    return metrics.registry.get_sample_value("crm_http_requests_total", {"route": "/hook", "platform": "none",
                                                                         "status": status}) or 0.0


def test_posts_are_answered_by_the_protocol_without_a_task_on_one_connection():
    with serving(direct=True) as (port, answers, metrics):
        with connection(port) as sock:
            for n in range(3):
                body = b'{"update_id": %d}' % n
                sock.sendall(post(body))
                status, headers, answer = read_response(sock)
                assert (status, answer) == (200, b'{"ok":true,"n":%d}' % len(body))
                assert headers["content-type"] == "application/json" and "date" in headers
                assert "connection" not in headers  # kept alive
        assert answers.bodies == [b'{"update_id": %d}' % n for n in range(3)]
        assert answers.in_task == [False, False, False]  # called from the parser's callback, not an ASGI task
        assert counted(metrics, "200") == 3
        assert metrics.registry.get_sample_value("crm_http_request_duration_seconds_count",
                                                 {"route": "/hook", "platform": "none"}) == 3


CASES = {
    "stored": post(b'{"update_id": 1}'),
    "answered at once": post(b"now"),
    "a coroutine": post(b"coro"),
    "a 500 answer": post(b"stored500"),
    "wrong secret": post(b"{}", secret="nope"),
    "no secret": post(b"{}", secret=None),
    "a repeated secret": post(b"{}", extra=f"X-Secret: {SECRET}\r\n"),
    "content-length over the cap": post(b"x", length=CAP + 1),
    "chunked over the cap": post(b"x" * (CAP + 1), chunked=True),
    "chunked within the cap": post(b'{"update_id": 2}', chunked=True),
    "empty body": post(b""),
    "the answer raises": post(b"raise"),
    "the answer's future fails": post(b"fail"),
    "the answer's future gives no status and body": post(b"no pair"),
    "the answer's status is no HTTP status": post(b"status 999"),
    "another method": b"GET /hook HTTP/1.1\r\nHost: x\r\nX-Secret: " + SECRET.encode() + b"\r\n\r\n",
    "HTTP/1.0": post(b'{"update_id": 3}').replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    "connection: close": post(b'{"update_id": 4}', extra="Connection: close\r\n"),
    "a query string": post(b'{"update_id": 5}', path="/hook?x=1"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_answer_is_the_asgi_edges_answer(case):
    answers = {}
    for direct in (False, True):
        with serving(direct=direct) as (port, _, metrics):
            answers[direct] = comparable(exchange(port, CASES[case]))
            status = answers[direct][0]
            if case != "another method":
                assert counted(metrics, str(status)) == 1  # counted either way
    assert answers[True] == answers[False]
    if case in ("wrong secret", "no secret", "a repeated secret"):
        assert answers[True][0] == 403
    if "over the cap" in case:
        assert answers[True][0] == 413


def test_a_header_check_that_raises_is_answered_400_as_the_asgi_edge_answers_it(caplog):
    def broken_check(headers):
        raise RuntimeError("check broke")

    answers = {}
    for direct in (False, True):
        with serving(direct=direct, before_body=broken_check) as (port, seen, metrics):
            with connection(port) as sock:
                sock.sendall(post(b'{"update_id": 1}'))
                answers[direct] = comparable(read_response(sock))
                assert closed_within(sock, 3) == b""  # then hung up on (the body is not read), not aborted before
            assert seen.bodies == [] and counted(metrics, "400") == 1, f"direct={direct}: {answers[direct]}"
            assert exchange(port, post(b"now"), timeout=3)[0] == 400  # still serving
    assert answers[True] == answers[False]
    assert answers[True][0] == 400 and answers[True][1]["connection"] == "close"
    assert re.fullmatch(rb"bad request \(ref \*\)", answers[True][2])
    assert "Exception in callback" not in caplog.text and "RuntimeError" in caplog.text  # logged as a route's failure


def test_a_body_that_does_not_arrive_in_time_is_408():
    with serving(direct=True, body_timeout=0.3) as (port, answers, metrics):
        with connection(port) as sock:
            sock.sendall(post(b'{"update_id": 1}', length=50))  # 34 bytes short
            status, headers, body = read_response(sock)
        assert status == 408 and headers["connection"] == "close"
        assert answers.bodies == [] and counted(metrics, "408") == 1


def test_expect_100_continue_is_answered_before_the_body():
    with serving(direct=True) as (port, answers, _):
        with connection(port) as sock:
            body = b'{"update_id": 9}'
            request = post(body, extra="Expect: 100-continue\r\n")
            sock.sendall(request[:-len(body)])
            assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(body)
            assert read_response(sock)[0] == 200
        assert answers.bodies == [body]


def test_pipelined_requests_are_answered_in_their_order():
    with serving(direct=True) as (port, answers, _):
        answers.delay = 0.2  # the first is answered late; the second would be at once
        with connection(port) as sock:
            sock.sendall(post(b'{"first": 1}') + post(b"quick 2nd"))
            first, second = read_response(sock), read_response(sock)
        assert first[2] == b'{"ok":true,"n":12}' and second[2] == b'{"ok":true,"n":9}'
        assert answers.bodies == [b'{"first": 1}', b"quick 2nd"]


def test_a_request_pipelined_behind_one_answered_at_once_is_not_under_the_keep_alive_timer():
    """The first answer is written inside the parser's feed (no pipeline yet: uvicorn arms its keep-alive timer);
    the second request, in the same segment, takes longer than the keep-alive and must still get its answer."""
    with serving(direct=True, keep_alive=0.2) as (port, answers, _):
        answers.delay = 0.5
        with connection(port) as sock:
            sock.sendall(post(b"now") + post(b'{"slow": 1}'))
            first, second = read_response(sock), read_response(sock)
            assert (first[0], second[2]) == (200, b'{"ok":true,"n":11}')
            started = time.monotonic()
            assert closed_within(sock, 3) == b""  # idle afterwards: the keep-alive timer does close it
            assert time.monotonic() - started < 1
        assert answers.bodies == [b"now", b'{"slow": 1}']


def test_a_client_gone_before_its_answer_leaves_the_server_serving():
    with serving(direct=True) as (port, answers, metrics):
        answers.delay = 0.2
        with connection(port) as sock:
            sock.sendall(post(b'{"update_id": 1}'))
        time.sleep(0.4)  # its answer came after it left: nothing to write to
        answers.delay = 0.0
        assert exchange(port, post(b'{"update_id": 2}'))[0] == 200
        assert counted(metrics, "200") == 2


def test_bodies_over_the_shared_budget_are_told_to_come_back():
    with serving(direct=True, budget=10) as (port, answers, metrics):
        status, headers, _ = exchange(port, post(b'{"update_id": 12345}'))
        assert status == 429 and headers["retry-after"] == "1"
        assert answers.bodies == [] and counted(metrics, "429") == 1


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before it hung up, waiting at most ``seconds``."""
    sock.settimeout(seconds)
    got = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return got
        got += chunk


def test_the_next_requests_headers_on_a_kept_alive_connection_have_their_deadline():
    with serving(direct=True, header_timeout=0.5) as (port, answers, _):
        with connection(port) as sock:
            sock.sendall(post(b'{"update_id": 1}'))
            assert read_response(sock)[0] == 200
            sock.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\n")  # and nothing more
            started = time.monotonic()
            closed_within(sock, 5)
            assert 0.3 < time.monotonic() - started < 3  # the header deadline, not uvicorn's 5 s keep-alive
        assert answers.bodies == [b'{"update_id": 1}']


def test_headers_over_the_cap_arriving_in_pieces_get_431():
    with serving(direct=True, header_timeout=5) as (port, answers, _):
        with connection(port) as sock:
            sock.sendall(post(b'{"update_id": 1}'))
            assert read_response(sock)[0] == 200
            sock.sendall(b"POST /hook HTTP/1.1\r\n")
            sent = 0
            try:
                for n in range(10):
                    sock.sendall(b"X-Filler-%d: " % n + b"a" * 600 + b"\r\n")
                    sent += 614
                    time.sleep(0.05)
            except OSError:  # hung up on: what it said is still to be read
                pass
            assert closed_within(sock, 5).split(b"\r\n")[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
            assert 4096 - 614 <= sent <= 4096 + 2 * 614  # cut off at the cap (a piece may be in flight), counted over pieces


# ---- the real Telegram adapter behind `crm-bot run`'s protocol ------------------------------------

@pytest.fixture
def served_bot(db, settings, clock, telegram_api, team):
    """`crm-bot run`'s App with the Telegram adapter (webhook mode), served as App.serve serves it: uvicorn with
    the edge protocol given the App's edge and metrics (the harness of tests/telegram_support.py runs plain
    uvicorn, so there the webhook goes the ASGI way)."""
    from bot.app import App
    from tests.telegram_support import telegram_settings

    app = App(telegram_settings(settings, telegram_api), db, clock=clock)
    app.configure_adapters()
    asgi = app.asgi()
    with uvicorn_in_a_thread(lambda port: uvicorn_config(asgi, "127.0.0.1", port, app.edge, app.metrics),
                             start_within=60, stop_within=30) as port:
        yield port, app


def telegram_post(body: bytes, secret: str | None = None) -> bytes:
    from tests.telegram_support import WEBHOOK_SECRET

    head = "POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += f"X-Telegram-Bot-Api-Secret-Token: {secret or WEBHOOK_SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def test_the_telegram_webhook_through_the_protocol_stores_before_its_200_and_500s_a_failed_commit(served_bot,
                                                                                                   monkeypatch):
    import json

    from sqlmodel import select

    from crm.models import TelegramInbound

    port, app = served_bot
    adapter = next(a for a in app.adapters if a.name == "telegram")
    update = {"update_id": 880001, "message": {"message_id": 1, "date": 1795000000, "text": "hello",
                                               "chat": {"id": 880, "type": "private", "first_name": "Ann"},
                                               "from": {"id": 880, "is_bot": False, "first_name": "Ann"}}}
    seen = []

    def append_seen(conn, updates, **kw):  # what is in the transaction when the 200 goes out
        seen.extend(u for u, _, _ in updates)
        return real_append(conn, updates, **kw)

    from crm import telegram_inbound
    real_append = telegram_inbound.append
    monkeypatch.setattr(telegram_inbound, "append", append_seen)
    through_asgi = []
    asgi_call = MetricsMiddleware.__call__

    async def noting(self, scope, receive, send):
        through_asgi.append(scope.get("path"))
        await asgi_call(self, scope, receive, send)

    monkeypatch.setattr(MetricsMiddleware, "__call__", noting)
    with connection(port) as sock:
        sock.sendall(telegram_post(json.dumps(update).encode()))
        assert read_response(sock)[:3:2] == (200, b'{"ok":true}')
        assert seen == [880001]
        with app.db.session() as s:  # committed before the answer
            assert s.exec(select(TelegramInbound.update_id).where(TelegramInbound.update_id == 880001)).all()
        sock.sendall(telegram_post(b'{"update_id": "not a number"}'))
        assert read_response(sock)[0] == 400
        sock.sendall(telegram_post(b"{}", secret="wrong"))
        assert read_response(sock)[0] == 403

    def broken(rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(adapter.inbound._batcher, "commit", broken)
    update["update_id"] = 880002
    status, _, body = exchange(port, telegram_post(json.dumps(update).encode()))
    assert status == 500 and json.loads(body)["ok"] is False  # Telegram redelivers it
    registry = app.metrics.registry
    labels = {"route": "/telegram/webhook", "platform": "telegram"}
    for code, n in (("200", 1), ("400", 1), ("403", 1), ("500", 1)):
        assert registry.get_sample_value("crm_http_requests_total", {**labels, "status": code}) == n
    assert registry.get_sample_value("crm_ack_duration_seconds_count", {"platform": "telegram"}) == 4
    assert registry.get_sample_value("crm_http_request_duration_seconds_count", labels) == 4
    assert "/telegram/webhook" not in through_asgi  # served by the protocol, not the ASGI stack


def test_crm_bot_run_serves_the_webhook_from_the_protocol_on_uvloop(db, settings, telegram_api, monkeypatch):
    """What `crm-bot run` really runs (bot/cli.py → App.serve): uvloop's loop, httptools through our protocol,
    and that protocol given the App's edge, so the webhook's POSTs are served by it."""
    import bot.cli
    from bot.app import App
    from tests.telegram_support import telegram_settings

    captured = {}

    class NotServing:
        def __init__(self, config):
            captured["config"] = config

        async def serve(self):
            captured["loop"] = type(asyncio.get_running_loop()).__module__
            captured["serving"] = app._server is self  # what App.start reads to know it is serve()'s

    monkeypatch.setattr(uvicorn, "Server", NotServing)
    app = App(telegram_settings(settings, telegram_api), db)
    app.configure_adapters()
    bot.cli._run_server(app.serve("127.0.0.1", 0))
    assert captured["loop"].startswith("uvloop")
    assert captured["serving"] and app._server is None  # set while serve() ran, cleared once it returned
    protocol = captured["config"].http
    assert protocol.__name__ == "EdgeHttpToolsProtocol"
    assert protocol.answered_routes == {b"/telegram/webhook"}
    state = type("ServerState", (), {"connections": set(), "tasks": set(), "default_headers": []})()
    loop = asyncio.new_event_loop()
    try:  # the access log is below the level (WARNING): its lines are not even formatted
        assert protocol(config=captured["config"], server_state=state, app_state={}, _loop=loop).access_log is False
    finally:
        loop.close()
