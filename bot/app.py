"""Wiring: one store, one engine, the configured adapters, the HTTP server and the scheduler."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import socket

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.delivery import Delivery
from bot.engine import Engine
from bot.metrics import Metrics, MetricsMiddleware
from bot.settings import Settings
from crm.campaign_sender import CampaignRunner
from crm.db import Database

log = logging.getLogger("crm.app")
WORKER_THREADS = 64
# Work that runs after an ack (commands, relays, answers) gets a few threads of its own: with one
# thread per waiting command, dozens of runnable threads took turns at the GIL with the event loop
# and acks waited behind them. Queued work waits its turn here instead, off the ack path.
BACKGROUND_THREADS = 4


class App:
    """Everything `crm-bot run` starts. Adapters add routes and register senders."""

    def __init__(self, settings: Settings, db: Database | None = None, *, clock=None, instance: str | None = None):
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.delivery = Delivery()
        self.engine = Engine(self.db, settings, clock=clock, services={"delivery": self.delivery})
        self.instance = instance or f"{socket.gethostname()}-{id(self):x}"
        self.adapters: list = []
        self.scheduler = None
        self.metrics = Metrics(self.db, clock=self.engine.clock)  # GET /metrics; a registry of this app's own
        self.routes: list[Route] = [Route("/healthz", self.healthz, methods=["GET"]),
                                    Route("/metrics", self.metrics.endpoint, methods=["GET"])]
        self.campaigns = CampaignRunner.for_app(self)  # sends confirmed campaigns; resumes them on start
        self.engine.services["campaign_runner"] = self.campaigns
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
        """Slack and Telegram when their credentials are set."""
        if self.settings.slack_enabled:
            from integrations.slack import SlackAdapter

            self.add_adapter(SlackAdapter(self))
        if self.settings.telegram_enabled:
            from integrations.telegram import TelegramAdapter

            self.add_adapter(TelegramAdapter(self))

    def configure_scheduler(self) -> None:
        try:
            from scheduler.service import SchedulerService
        except ImportError:  # the scheduler capability has not landed in this build
            return
        self.scheduler = SchedulerService(self)

    async def healthz(self, request: Request) -> JSONResponse:
        ok = await asyncio.to_thread(self.db.ping)
        return JSONResponse({"ok": ok, "instance": self.instance}, status_code=200 if ok else 503)

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

    def asgi(self) -> Starlette:
        for route in self.routes:
            self.metrics.add_route(route.path)
        return Starlette(routes=self.routes, lifespan=self.lifespan,
                         middleware=[Middleware(MetricsMiddleware, metrics=self.metrics)])

    async def serve(self, host: str, port: int) -> None:
        import uvicorn

        # log_config=None: uvicorn's lines go through the root handler, redacted (and JSON with LOG_FORMAT=json)
        config = uvicorn.Config(self.asgi(), host=host, port=port, log_level="warning", lifespan="on",
                                log_config=None)
        await uvicorn.Server(config).serve()
