"""Telegram's side of the webhook benches: updates POSTed as Telegram sends them, over plain asyncio streams.

Why not aiohttp: on this 2-core machine the generator shares the cores with the server it measures, and
aiohttp's client cost ~0.3-0.5 ms of CPU a request, as much as the whole server path per update (issue 17):
the rate measured then followed how the two processes split the machine. Real Telegram's sending costs us
nothing. Here a request is one prebuilt bytes object and an answer one ``readuntil`` + ``readexactly``.

Semantics kept from the aiohttp version: each chat's updates in order, at most ``clients`` requests in flight
on as many keep-alive connections (Telegram's webhook ``max_connections``), an update that is not answered
200 is delivered again 0.1 s later and its chat waits for it (as Telegram does). A connection the server
closed, one that could not be opened and a request unanswered after ``TIMEOUT`` (the aiohttp client's
60 s total) are tried again on a new connection, ``ATTEMPTS`` times in all, and then the bench fails:
a hung server does not hang it (a redelivery is harmless: ``update_id`` is unique).
"""
from __future__ import annotations

import asyncio
import time
from typing import Iterable

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TIMEOUT = 60.0  # seconds for one request, connecting included (the aiohttp client's ClientTimeout(total=60))
ATTEMPTS = 3


def request_of(port: int, body: bytes, secret: str, path: str = "/telegram/webhook") -> bytes:
    """One webhook POST with Telegram's headers (keep-alive)."""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\nAccept-Encoding: gzip, deflate\r\n"
            f"{SECRET_HEADER}: {secret}\r\n\r\n").encode() + body


async def post_in_order(port: int, per_chat: Iterable[list[bytes]], clients: int, secret: str) -> tuple[float, int]:
    """Posts every chat's bodies in order, chats concurrently; (seconds, answers other than 200)."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(clients):
        pool.put_nowait(None)  # opened on first use
    refused = 0

    async def exchange(request: bytes) -> int:
        connection = await pool.get()
        try:
            for attempt in range(ATTEMPTS):
                opened = connection is not None
                try:
                    async with asyncio.timeout(TIMEOUT):  # a timer, not a task per request: the client stays cheap
                        if connection is None:
                            connection = await asyncio.open_connection("127.0.0.1", port)
                        reader, writer = connection
                        writer.write(request)
                        head = await reader.readuntil(b"\r\n\r\n")
                        lines = head.lower().split(b"\r\n")
                        length = next((int(line.split(b":", 1)[1]) for line in lines
                                       if line.startswith(b"content-length:")), 0)
                        await reader.readexactly(length)
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    if connection is not None:
                        connection[1].close()
                        connection = None
                    if attempt == ATTEMPTS - 1:
                        raise
                    if not opened:  # the server did not take a new connection: give it a moment
                        await asyncio.sleep(0.1)
                    continue
                if b"connection: close" in lines:
                    writer.close()
                    connection = None
                return int(head[9:12])
        finally:
            pool.put_nowait(connection)
        raise AssertionError("unreachable")

    async def chat(bodies: list[bytes]) -> None:
        nonlocal refused
        for body in bodies:
            request = request_of(port, body, secret)
            while await exchange(request) != 200:
                refused += 1
                await asyncio.sleep(0.1)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(chat(bodies) for bodies in per_chat))
    finally:
        while not pool.empty():
            connection = pool.get_nowait()
            if connection is not None:
                connection[1].close()
    return time.perf_counter() - started, refused
