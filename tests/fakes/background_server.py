"""An aiohttp app on a loopback port, served from its own thread and event loop, so a test
(synchronous or async) can talk to it over real HTTP like the remote service it stands in for."""
from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class BackgroundServer:
    thread_name = "fake-api"
    _LIFECYCLE = ("_loop", "_runner", "_thread", "port")

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj._init_args = (args, kwargs)  # for reset(), which runs __init__ again
        return obj

    def __init__(self):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # what a stand-in provides
    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def after_start(self) -> None:
        """Runs in the server's loop once it listens."""

    async def before_stop(self) -> None:
        """Runs in the server's loop before the listener closes (end long polls, close sockets)."""

    # lifecycle
    def start(self):
        ready = threading.Event()
        self._loop = loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def reset(self) -> None:
        """Forget everything the last test did (calls, scripted failures, users, files …) but keep
        listening: a test module shares one server and each test gets a fresh stand-in. ``__init__``
        runs again, so state a stand-in adds later is reset too; long polls and sockets of the
        last test are ended first (``before_stop``) so they cannot write into the new state."""

        async def renew():
            await self.before_stop()
            await asyncio.sleep(0.05)  # the handlers woken above return before their state is replaced
            kept = {name: getattr(self, name) for name in self._LIFECYCLE}
            args, kwargs = self._init_args
            self.__init__(*args, **kwargs)
            self.__dict__.update(kept)
            await self.after_start()

        asyncio.run_coroutine_threadsafe(renew(), self._loop).result(10)

    async def _serve(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        await self.after_start()

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown():
            await self.before_stop()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None
