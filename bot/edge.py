"""The HTTP edge: limits and refusals in front of every route, before any handler runs.

Two layers, both ours, both independent of the routes behind them:

* ``Edge`` — a pure ASGI middleware. Per route it knows the largest body it accepts and what
  must hold before the body is read (a Slack timestamp and signature header, Telegram's secret
  token). It refuses an oversized ``Content-Length`` before reading a byte (413), reads the body
  itself under a size cap (413 while streaming, for chunked bodies) and a deadline (408), checks
  the Slack signature over exactly those bytes, and only then hands the route a replayed body.
  A route may instead be *answered at the edge* (``RouteLimits.answer``: Telegram's webhook, issue
  17): the checked body goes straight to a plain function that returns the status and JSON bytes,
  at once or as an awaitable (a future), without Starlette's middleware stack, router and Request
  objects in between (~0.2 ms a request).
  So an unsigned body is never held beyond the route's cap, and every buffered byte counts
  against one process-wide budget. Any exception that escapes a route becomes a 400 with a
  reference (the traceback goes to the debug log only); a client that went away is dropped
  quietly. Nothing from outside gets a 5xx or a traceback.
* ``edge_protocol()`` — uvicorn's httptools protocol with what uvicorn lacks: a deadline for the
  request line and headers (slowloris), also on a connection that sends nothing, and a cap on
  open connections that, when reached, closes the connection that has waited longest for its
  headers rather than the new one, so /healthz and real Slack requests still get through. Given the
  app's ``Edge``, it also serves the POSTs of the answered routes itself, with ``Edge``'s checks and
  answers (the same functions: ``check_headers``, ``check_chunk``, ``check_body``, the same refusals)
  but without an ASGI cycle or task per request (issue 17: half the ack path's CPU).
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Awaitable, Callable

log = logging.getLogger("crm.edge")

SLACK_TOLERANCE_SECONDS = 300  # Slack's own rule: a signed request older than five minutes is a replay
BODY_TIMEOUT = 10.0  # seconds for a whole request body to arrive (Slack and Telegram send at once)
HEADER_TIMEOUT = 10.0  # seconds for the request line and headers
MAX_CONNECTIONS = 4096
MAX_HEADER_BYTES = 64 * 1024  # request line and headers together (httptools itself sets no limit)
BODY_BUDGET = 64 * 1024 * 1024  # bytes of request bodies held at once, all connections together

Check = Callable[[dict[str, str]], "Refusal | None"]
BodyCheck = Callable[[dict[str, str], bytes], "Refusal | None"]
# the checked body → (status, JSON body), at once or awaitable (an asyncio future: served without a task of its own)
Answer = Callable[[bytes], "tuple[int, bytes] | Awaitable[tuple[int, bytes]]"]


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RouteLimits:
    """What a route accepts: ``max_body`` bytes; ``before_body`` runs on the headers (nothing read
    yet), ``after_body`` on the headers and the complete body (e.g. an HMAC signature). ``answer``: a POST to
    the route is answered here from its checked body (status and JSON), not by the app behind the edge
    (other methods still go to the app, which answers 405)."""

    max_body: int
    before_body: Check | None = None
    after_body: BodyCheck | None = None
    answer: Answer | None = None


@dataclass
class _Budget:
    limit: int
    used: int = 0

    def take(self, n: int) -> bool:
        if self.used + n > self.limit:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used = max(0, self.used - n)


class _Disconnected(Exception):
    pass


class _Refused(Exception):
    """A body refused while it was read (over the route's cap or the shared budget)."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.status)
        self.refusal = refusal


# ---- the edge's checks, refusals and answers: one copy, used by ``Edge`` and by ``edge_protocol`` -------

BAD_LENGTH = Refusal(400, "bad Content-Length")
SLOW_BODY = Refusal(408, "the request body did not arrive in time")
BUSY = Refusal(429, "busy; try again in a moment", (("retry-after", "1"),))
JSON_HEADERS = ((b"content-type", b"application/json"),)


def too_large(limits: RouteLimits) -> Refusal:
    return Refusal(413, f"request body too large (at most {limits.max_body} bytes here)")


def failed(method, path: str, exc: BaseException) -> Refusal:
    """A route's failure, logged under a short reference (the traceback at debug level only): its 400."""
    ref = uuid.uuid4().hex[:8]
    log.warning("%s %s failed with %s (ref %s); answered 400", method, path[:100], type(exc).__name__, ref)
    log.debug("traceback of ref %s", ref, exc_info=exc)
    return Refusal(400, f"bad request (ref {ref})")


def plain_headers(refusal: Refusal) -> list[tuple[bytes, bytes]]:
    # the rest of a refused body is never read: close, don't resync
    return [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers)]


def check_headers(headers: dict[str, str], limits: RouteLimits) -> Refusal | None:
    """Before a byte of the body is read: its framing (a Content-Length over the route's cap), then ``before_body``."""
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit() or len(length) > 15:
            return BAD_LENGTH
        if int(length) > limits.max_body:
            return too_large(limits)
    return limits.before_body(headers) if limits.before_body is not None else None


def check_chunk(limits: RouteLimits, held: int, size: int, budget: _Budget) -> Refusal | None:
    """A chunk of ``size`` body bytes after ``held``: within the route's cap, then taken from the shared budget
    (taken only when the answer is None; the caller gives it back once the request is answered)."""
    if held + size > limits.max_body:
        return too_large(limits)
    if not budget.take(size):
        return BUSY
    return None


def check_body(limits: RouteLimits, headers: dict[str, str], body: bytes, answer: bool = True):
    """The complete body: ``after_body``, then (``answer``: a POST) the route's answer. Returns a Refusal, the
    answer's (status, JSON body) at once or an awaitable of it (checked with ``answer_pair``), or None: the
    route has no answer here, the app behind the edge answers."""
    if limits.after_body is not None:
        refusal = limits.after_body(headers, body)
        if refusal is not None:
            return refusal
    if not answer or limits.answer is None:
        return None
    answered = limits.answer(body)
    return answer_pair(answered) if type(answered) is tuple else answered


def answer_pair(answered) -> tuple[int, bytes]:
    """An answer's (status, JSON body), checked before a byte of it is written (a bad one fails the request: 400)."""
    status, body = answered
    if type(status) is int and 100 <= status < 600 and type(body) is bytes:
        return answered
    raise ValueError(f"an answer must be (an HTTP status, bytes), not ({type(status).__name__}, {type(body).__name__})")


def _headers(scope) -> dict[str, str]:
    return header_dict(scope.get("headers") or [])


def header_dict(raw_headers) -> dict[str, str]:
    """Lower-cased header names; a repeated header keeps every value, joined by "\\n" (so checks see
    that it was repeated instead of silently taking one)."""
    out: dict[str, str] = {}
    for raw_name, raw_value in raw_headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        out[name] = f"{out[name]}\n{value}" if name in out else value
    return out


async def _send(send, status: int, body: bytes, headers) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_refusal(send, refusal: Refusal) -> None:
    await _send(send, refusal.status, refusal.message.encode("utf-8"), plain_headers(refusal))


@dataclass
class Edge:
    app: Callable[..., Awaitable[None]]
    routes: dict[str, RouteLimits] = field(default_factory=dict)
    default: RouteLimits = field(default_factory=lambda: RouteLimits(max_body=64 * 1024))
    body_timeout: float = BODY_TIMEOUT
    budget: _Budget = field(default_factory=lambda: _Budget(BODY_BUDGET))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan (and websockets, which we do not serve) pass through
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._handle(scope, receive, tracked_send)
        except (_Disconnected, OSError):
            return  # the client went away: nobody to answer, nothing worth a log line
        except Exception as exc:  # noqa: BLE001 - the point: nothing from outside becomes a 5xx
            if type(exc).__name__ == "ClientDisconnect":
                return
            refusal = failed(scope.get("method"), scope.get("path", ""), exc)
            if not started:
                try:
                    await _send_refusal(send, refusal)
                except Exception:  # noqa: BLE001 - the connection is gone
                    pass

    async def _handle(self, scope, receive, send) -> None:
        limits = self.routes.get(scope.get("path", ""), self.default)
        headers = _headers(scope)
        refusal = check_headers(headers, limits)
        if refusal is not None:
            await _send_refusal(send, refusal)
            return
        try:
            # asyncio.timeout, not wait_for: no task of its own per request (wait_for's cost ~20 µs each)
            async with asyncio.timeout(self.body_timeout):
                body = await self._read_body(receive, limits)
        except TimeoutError:
            await _send_refusal(send, SLOW_BODY)
            return
        except _Refused as refused:
            await _send_refusal(send, refused.refusal)
            return
        try:
            outcome = check_body(limits, headers, body, scope.get("method") == "POST")
            if type(outcome) is Refusal:
                await _send_refusal(send, outcome)
            elif outcome is not None:
                status, answer = outcome if type(outcome) is tuple else answer_pair(await outcome)
                await _send(send, status, answer, JSON_HEADERS)
            else:
                replayed = False

                async def replay():
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send)
        finally:
            self.budget.give(len(body))

    async def _read_body(self, receive, limits: RouteLimits) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected()
                chunk = message.get("body") or b""
                if chunk:
                    refusal = check_chunk(limits, size, len(chunk), self.budget)
                    if refusal is not None:
                        raise _Refused(refusal)
                    size += len(chunk)
                    chunks.append(chunk)
                if not message.get("more_body"):
                    return b"".join(chunks)
        except BaseException:
            self.budget.give(size)
            raise


async def answer_400(request, exc):
    """Starlette's handler for any exception a route raised (its ServerErrorMiddleware would send a
    500): a 400 with no detail; the exception is re-raised to ``Edge``, which logs it."""
    from starlette.responses import PlainTextResponse

    return PlainTextResponse("bad request", status_code=400, headers={"connection": "close"})


# ---- what Slack and Telegram requests must carry -------------------------------------------------

def slack_headers_check(now: Callable[[], float] = time.time) -> Check:
    """Before the body: a numeric, fresh X-Slack-Request-Timestamp and a v0 signature header."""

    def check(headers: dict[str, str]) -> Refusal | None:
        stamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        if not (stamp.isdigit() and len(stamp) <= 12) or not signature.startswith("v0=") or "\n" in signature:
            return Refusal(401, "invalid request signature")
        if abs(now() - int(stamp)) > SLACK_TOLERANCE_SECONDS:
            return Refusal(401, "invalid request signature")
        return None

    return check


def slack_signature_check(signing_secret: str) -> BodyCheck:
    """After the body: Slack's v0 HMAC-SHA256 over ``v0:{timestamp}:{body}``, compared in constant time."""
    key = signing_secret.encode()

    def check(headers: dict[str, str], body: bytes) -> Refusal | None:
        stamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        expected = "v0=" + hmac.new(key, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode("latin-1", "replace")):
            return Refusal(401, "invalid request signature")
        return None

    return check


def secret_header_check(header: str, secret: str, status: int = 403) -> Check:
    """Before the body: a shared-secret header (Telegram's X-Telegram-Bot-Api-Secret-Token)."""
    expected = secret.encode()

    def check(headers: dict[str, str]) -> Refusal | None:
        given = headers.get(header.lower())
        if given is None or not hmac.compare_digest(given.encode("latin-1", "replace"), expected):
            return Refusal(status, "wrong or missing secret token")
        return None

    return check


# ---- uvicorn: header deadline and the connection cap ------------------------------------------

class _NoEvent:
    @staticmethod
    def set() -> None:
        pass


class _Direct:
    """A POST to a route answered at the edge, served by the protocol itself (``edge_protocol``): it stands
    where uvicorn keeps its RequestResponseCycle, with the attributes uvicorn's protocol reads of one."""

    __slots__ = ("limits", "path", "headers", "started", "keep_alive", "chunks", "size", "reading",
                 "response_complete", "disconnected", "timer")
    message_event = _NoEvent  # uvicorn's connection_lost sets it

    def __init__(self, limits: RouteLimits, path: str, headers: dict[str, str], keep_alive: bool):
        self.limits, self.path, self.headers, self.keep_alive = limits, path, headers, keep_alive
        self.started = time.perf_counter()
        self.chunks: list[bytes] = []
        self.size = 0  # body bytes held (taken from the edge's budget)
        self.reading = True
        self.response_complete = False
        self.disconnected = False
        self.timer: asyncio.TimerHandle | None = None


def _header_lines(headers) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


_JSON = _header_lines(JSON_HEADERS)


def edge_protocol(header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                  max_header_bytes: int = MAX_HEADER_BYTES, edge: "Edge | None" = None, metrics=None):
    """uvicorn's httptools protocol with a header deadline and a connection cap (see module doc).

    With ``edge`` (and the app's ``metrics``): a POST to a route the edge answers (``RouteLimits.answer``,
    Telegram's webhook) is served here, from the parser's callbacks, instead of through uvicorn's ASGI cycle,
    the metrics middleware and ``Edge``: the same checks in the same order (framing, ``before_body``, the
    size cap and the body budget while reading, the body deadline, ``after_body``), the same answers, counted
    on the same metrics, but no task, scope, ASGI messages or per-request closures, and the answer written
    in one piece. Measured with bench/bench_telegram_ack.py (issue 17). Anything else (other methods, a
    query string, a request pipelined behind one still in hand) goes the ASGI way."""
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

    answered = {path.encode(): limits for path, limits in edge.routes.items() if limits.answer is not None} \
        if edge is not None else {}
    budget = edge.budget if edge is not None else None
    record = metrics.record_request if metrics is not None else None

    class EdgeHttpToolsProtocol(HttpToolsProtocol):
        answered_routes = frozenset(answered)  # raw paths whose POSTs it serves itself
        _header_timer: asyncio.TimerHandle | None = None
        waiting_since: float | None = None
        _header_bytes = 0
        _in_headers = False  # between a request's first byte and the end of its headers

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            # uvicorn formats an access-log line's arguments for every response whenever the logger has a handler
            # (ours: the root's), then drops it below INFO: not formatted when it would be dropped
            self.access_log = self.access_log and self.access_logger.isEnabledFor(logging.INFO)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            direct = self.cycle
            if type(direct) is _Direct and direct.reading and direct.timer is None \
                    and not direct.response_complete and not self.transport.is_closing():
                # the body did not come with the headers: it has the edge's deadline (armed only then)
                direct.timer = self.loop.call_later(edge.body_timeout, self._direct_too_slow, direct)
            if self._in_headers and not self.transport.is_closing():
                # a request's line and headers did not all come in this chunk: their deadline runs (armed only
                # now, not for every request: most come whole in one chunk), and this chunk counts against their cap
                self._await_headers()
                self._header_bytes += len(data)
                if self._header_bytes > max_header_bytes:
                    self._headers_done()
                    self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                         b"content-length: 0\r\nconnection: close\r\n\r\n")
                    self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._await_headers()
            if len(self.connections) > max_connections:
                self._shed()

        def _await_headers(self) -> None:
            if self._header_timer is None:
                self.waiting_since = time.monotonic()
                self._header_bytes = 0
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _headers_done(self) -> None:
            self.waiting_since = None
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def _shed(self) -> None:
            """Over the cap: close the connection that has waited longest for its headers."""
            waiting = [c for c in self.connections if getattr(c, "waiting_since", None) is not None
                       and not c.transport.is_closing()]
            victim = min(waiting, key=lambda c: c.waiting_since, default=self)
            victim._headers_done()
            victim.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers = True

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._headers_done()
            # a request that came in the same segment as one answered at once (inside feed_data, where
            # on_response_complete saw no pipeline and armed uvicorn's keep-alive timer) must not run under it
            if self.timeout_keep_alive_task is not None:
                self._unset_keepalive_if_required()
            limits = answered.get(self.url) if answered else None
            if limits is None or self.parser.get_method() != b"POST" or self.root_path \
                    or (self.cycle is not None and not self.cycle.response_complete) or self.parser.should_upgrade():
                super().on_headers_complete()
                return
            keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
            direct = self.cycle = _Direct(limits, self.url.decode("ascii"), header_dict(self.headers), keep_alive)
            try:
                refusal = check_headers(direct.headers, limits)
            except Exception as exc:  # noqa: BLE001 - as Edge (a 400): never out of the parser's callback unanswered
                self._direct_failed(direct, exc)
                return
            if refusal is not None:
                self._direct_refuse(direct, refusal)
            elif self.expect_100_continue:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

        def on_body(self, body: bytes) -> None:
            direct = self.cycle
            if type(direct) is not _Direct:
                super().on_body(body)
                return
            if direct.response_complete:
                return  # refused: the rest is not read
            refusal = check_chunk(direct.limits, direct.size, len(body), budget)
            if refusal is not None:
                self._direct_refuse(direct, refusal)
            else:
                direct.size += len(body)
                direct.chunks.append(body)

        def on_message_complete(self) -> None:
            direct = self.cycle
            if type(direct) is not _Direct:
                super().on_message_complete()
                return
            self._direct_body_in(direct)
            if direct.response_complete:
                return
            body = direct.chunks[0] if len(direct.chunks) == 1 else b"".join(direct.chunks)
            direct.chunks = []
            try:
                outcome = check_body(direct.limits, direct.headers, body)
                if type(outcome) is tuple:
                    self._direct_json(direct, *outcome)
                    return
                if type(outcome) is Refusal:
                    self._direct_refuse(direct, outcome)
                    return
                outcome = asyncio.ensure_future(outcome)  # a future as it is; a coroutine gets a task
            except Exception as exc:  # noqa: BLE001 - as Edge: nothing from outside becomes a 5xx
                self._direct_failed(direct, exc)
                return
            outcome.add_done_callback(functools.partial(self._direct_answered, direct))

        def _direct_answered(self, direct: _Direct, answer: asyncio.Future) -> None:
            if answer.cancelled():
                self._direct_failed(direct, asyncio.CancelledError())
                return
            try:
                self._direct_json(direct, *answer_pair(answer.result()))  # raises what the answer raised
            except Exception as exc:  # noqa: BLE001 - as Edge (a 400): a request is never left without its answer
                self._direct_failed(direct, exc)

        def _direct_failed(self, direct: _Direct, exc: BaseException) -> None:
            self._direct_refuse(direct, failed("POST", direct.path, exc))

        def _direct_too_slow(self, direct: _Direct) -> None:
            direct.timer = None
            if direct.reading:
                self._direct_refuse(direct, SLOW_BODY)

        def _direct_refuse(self, direct: _Direct, refusal: Refusal) -> None:
            self._direct_write(direct, refusal.status, _header_lines(plain_headers(refusal)),
                               refusal.message.encode("utf-8"), close=True)

        def _direct_json(self, direct: _Direct, status: int, body: bytes) -> None:
            self._direct_write(direct, status, _JSON, body, close=False)

        def _direct_write(self, direct: _Direct, status: int, head: bytes, body: bytes, close: bool) -> None:
            """The whole answer in one write (uvicorn writes the head and the body apart: two sends)."""
            if direct.response_complete:
                return
            status_line = STATUS_LINE[status]  # before the answer counts as given: an unknown status fails it (400)
            direct.response_complete = True
            self._direct_release(direct)
            if record is not None:  # the ack is the whole answer here: one write
                seconds = time.perf_counter() - direct.started
                record(direct.path, status, seconds, seconds)
            if direct.disconnected or self.transport.is_closing():
                return
            keep_alive = direct.keep_alive and not close
            parts = [status_line]
            for name, value in self.server_state.default_headers:
                parts += (name, b": ", value, b"\r\n")
            parts += (head, b"content-length: ", str(len(body)).encode(), b"\r\n")
            if not keep_alive and not close:
                parts.append(b"connection: close\r\n")
            parts += (b"\r\n", body)
            self.transport.write(b"".join(parts))
            if not keep_alive:
                self.transport.close()
            self.on_response_complete()

        def _direct_body_in(self, direct: _Direct) -> None:
            """No more of the body is read: its deadline is off."""
            direct.reading = False
            if direct.timer is not None:
                direct.timer.cancel()
                direct.timer = None

        def _direct_release(self, direct: _Direct) -> None:
            """Answered (or gone): its body's bytes go back to the budget."""
            if direct.reading or direct.timer is not None:
                self._direct_body_in(direct)
            if direct.size:
                budget.give(direct.size)
                direct.size = 0
            direct.chunks = []

        def connection_lost(self, exc) -> None:
            self._headers_done()
            direct = self.cycle
            if type(direct) is _Direct and not direct.response_complete:
                direct.disconnected = True
                if direct.reading:  # gone before its body was in: nobody to answer (counted as Edge's are)
                    direct.response_complete = True
                    self._direct_release(direct)
                    if record is not None:
                        record(direct.path, 500, time.perf_counter() - direct.started, None)
                # else its answer is on its way and counts when it comes (an update in a batch stands)
            super().connection_lost(exc)

    return EdgeHttpToolsProtocol


def raise_open_files_limit(wanted: int) -> int:
    """Lifts the soft RLIMIT_NOFILE towards ``wanted`` (within the hard limit); returns the new soft limit."""
    try:
        import resource
    except ImportError:  # not on this platform
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
