"""Wiring: one store, one engine, the configured adapters, the HTTP server and the scheduler."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import gc
import logging
import socket

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import handlers  # noqa: F401  every `/crm` command registers itself; composition is what knows them all
from bot.delivery import Delivery
from bot.engine import Engine
from bot.metrics import Metrics, MetricsMiddleware
from bot.ports import Ports
from bot.settings import Settings
from crm.campaigns.sender import CampaignRunner
from crm.db import Database
from scheduler.service import SchedulerService

log = logging.getLogger("crm.app")
WORKER_THREADS = 64
# Work that runs after an ack (commands, relays, answers) gets a few threads of its own: with one
# thread per waiting command, dozens of runnable threads took turns at the GIL with the event loop
# and acks waited behind them. Queued work waits its turn here instead, off the ack path.
BACKGROUND_THREADS = 4


def campaign_runner(app: "App") -> CampaignRunner:
    """The campaign sender, talking to Telegram through a Bot of its own (none without a token)."""
    settings = app.settings

    def messenger():
        # imported when first needed: python-telegram-bot is not loaded where Telegram is not configured
        from integrations.telegram.campaign import TelegramCampaignMessenger

        return TelegramCampaignMessenger(settings.telegram_bot_token, settings.telegram_api_url)

    return CampaignRunner(app.db, messenger if settings.telegram_enabled else None, clock=app.engine.clock,
                          instance=app.instance)


def warm_up_charts() -> None:
    from crm.chart_fonts import use_chart_fonts

    try:
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401

        use_chart_fonts()
    except Exception:  # a missing font only costs the first chart its speed
        logging.getLogger("crm.app").warning("chart warm-up failed", exc_info=True)


class App:
    """Everything `crm-bot run` starts. Adapters add routes and register senders."""

    def __init__(self, settings: Settings, db: Database | None = None, *, clock=None, instance: str | None = None):
        self.settings = settings
        self.db = db or Database(settings.database_url, key=settings.db_key)
        self.delivery = Delivery()
        self.engine = Engine(self.db, settings, clock=clock, ports=Ports(delivery=self.delivery))
        self.instance = instance or f"{socket.gethostname()}-{id(self):x}"
        self.adapters: list = []
        self.scheduler = None
        self._server = None  # uvicorn's while serve() runs, else None (start() reads it: run by serve() or not)
        self.edge = None  # bot/edge.py's, once asgi() built it
        self.metrics = Metrics(self.db, clock=self.engine.clock)  # GET /metrics; a registry of this app's own
        self.routes: list[Route] = [Route("/healthz", self.healthz, methods=["GET"]),
                                    Route("/metrics", self.metrics.endpoint, methods=["GET"])]
        self.campaigns = campaign_runner(self)  # sends confirmed campaigns; resumes them on start
        self.engine.ports.campaign_runner = self.campaigns
        self._background = concurrent.futures.ThreadPoolExecutor(max_workers=BACKGROUND_THREADS,
                                                                 thread_name_prefix="crm-background")

    async def in_background(self, fn, *args, **kwargs):
        """Runs ``fn`` in a thread of the background lane (for work nobody's ack is waiting on)."""
        return await asyncio.get_running_loop().run_in_executor(self._background,
                                                                functools.partial(fn, *args, **kwargs))

    def add_adapter(self, adapter) -> None:
        self.adapters.append(adapter)
        self.routes.extend(getattr(adapter, "routes", []))

    def configure_adapters(self) -> None:
        """Slack and Telegram when their credentials are set (each SDK is imported only when used)."""
        if self.settings.slack_enabled:
            from integrations.slack import SlackAdapter

            self.add_adapter(SlackAdapter(self))
        if self.settings.telegram_enabled:
            from integrations.telegram import TelegramAdapter

            self.add_adapter(TelegramAdapter(self))

    def configure_scheduler(self) -> None:
        self.scheduler = SchedulerService(self)

    async def healthz(self, request: Request) -> JSONResponse:
        ok = await asyncio.to_thread(self.db.ping)
        # no instance name: it carries the host name, which is nobody's business outside
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app=None):
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        # store work runs in threads (asyncio.to_thread); the default pool is cpu+4 threads, so a few
        # writes queued on SQLite's single writer would hold every thread and stall quick reads (acks)
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="crm-work"))
        # The customer-message model trains in about a second (several on a loaded box). Every inbound
        # Telegram message is read inside its webhook transaction, so a first message that waited for
        # the training would hold SQLite's writer and stall every ack behind it. Train before the
        # server accepts its first request instead (uvicorn binds only after the lifespan has started).
        understanding = self._background.submit(warm_up_understanding)
        # matplotlib and the CJK font load in about a second: before the first chart, not inside it
        charts = self._background.submit(warm_up_charts)
        serving = self._server is not None  # run by serve()'s lifespan: the heap is collected and frozen before the first request
        if self.settings.telegram_enabled or serving:
            await asyncio.wrap_future(understanding)
        if serving:
            await asyncio.wrap_future(charts)
            settle_heap()
        for adapter in self.adapters:
            await adapter.start()
        if self.scheduler is not None:
            await self.scheduler.start()
        await self.campaigns.start()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.campaigns.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        for adapter in reversed(self.adapters):
            with contextlib.suppress(Exception):
                await adapter.stop()

    def asgi(self):
        """The routes behind the edge (bot/edge.py: body caps, deadlines, signatures, no 5xx)."""
        from bot.edge import answer_400
        from bot.edge_routes import edge_for

        # Starlette's outermost middleware turns an exception into a 500 before the edge sees it:
        # the edge's handler answers 400 instead (and the edge logs it without a traceback)
        inner = Starlette(routes=self.routes, lifespan=self.lifespan, exception_handlers={Exception: answer_400})
        webhooks = {}  # webhook routes an adapter answers at the edge, without Starlette (Telegram's), and their secret
        for adapter in self.adapters:
            webhooks.update(getattr(adapter, "edge_webhooks", {}))
        for route in self.routes:
            self.metrics.add_route(route.path)
        self.edge = edge_for(self.settings, inner, webhooks)
        # outermost: requests the edge refuses (signatures, sizes, deadlines) are counted too
        return MetricsMiddleware(self.edge, self.metrics)

    async def serve(self, host: str, port: int) -> None:
        import uvicorn

        from bot.edge_routes import uvicorn_config

        asgi = self.asgi()
        # the edge's answered routes (Telegram's webhook) are served by the HTTP protocol itself
        self._server = uvicorn.Server(uvicorn_config(asgi, host, port, self.edge, self.metrics))
        try:
            await self._server.serve()
        finally:
            self._server = None

    def request_shutdown(self) -> None:
        """From any thread: stop serving; the lifespan then stops the scheduler and adapters cleanly."""
        if self._server is not None:
            self._server.should_exit = True


def settle_heap() -> None:
    """Everything loaded at start (the libraries, the message model, the chart fonts: a few hundred MB
    of objects that live as long as the process) is moved out of the garbage collector's sight.
    Otherwise each full collection walks all of it with the GIL held: 0.6-0.8 s pauses of the whole
    server every few seconds under a burst of slash commands (every ack waiting meanwhile was the
    p99), measured with a gc callback in bench/load.py runs. Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()


def warm_up_understanding() -> None:
    from crm.understanding.intent import warm_up

    try:
        warm_up()
    except Exception:  # reading messages then trains on first use (and logs if it cannot)
        logging.getLogger("crm.app").exception("could not train the customer-message model at start")
