"""The webhook benches' Telegram (bench/webhook_client.py): a hung or refusing server fails the bench in bounded
time instead of hanging it, and a dropped connection is retried on a new one."""
from __future__ import annotations

import asyncio
import time

import pytest

from bench import webhook_client


async def serve(handler):
    tasks: set[asyncio.Task] = set()

    async def tracked(reader, writer):
        tasks.add(asyncio.current_task())
        try:
            await handler(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], tasks


async def stop(server, tasks) -> None:
    server.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def answer_200(reader, writer) -> None:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
                     .split(b":")[1])
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")


async def test_a_server_that_never_answers_fails_the_bench_after_the_timeout(monkeypatch):
    monkeypatch.setattr(webhook_client, "TIMEOUT", 0.3)

    async def hung(reader, writer):
        await asyncio.sleep(60)

    server, port, tasks = await serve(hung)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            # the guard only keeps a client without a timeout from hanging this test (it fails on the time then)
            await asyncio.wait_for(webhook_client.post_in_order(port, [[b"{}"]], 1, "secret"), 10)
    finally:
        await stop(server, tasks)
    assert time.monotonic() - started < 0.3 * webhook_client.ATTEMPTS + 2


async def test_a_connection_that_cannot_be_opened_is_tried_again_then_fails(monkeypatch):
    server, port, tasks = await serve(answer_200)
    await stop(server, tasks)  # nothing listens there now
    opened = 0
    real = asyncio.open_connection

    async def counting(*args, **kwargs):
        nonlocal opened
        opened += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(asyncio, "open_connection", counting)
    with pytest.raises(OSError):
        await webhook_client.post_in_order(port, [[b"{}"]], 1, "secret")
    assert opened == webhook_client.ATTEMPTS


async def test_a_refused_open_and_a_dropped_connection_are_retried(monkeypatch):
    server, port, tasks = await serve(answer_200)
    connections = 0

    async def flaky(reader, writer):  # the first connection is closed before answering
        nonlocal connections
        connections += 1
        if connections > 1:
            await answer_200(reader, writer)

    server2, port2, tasks2 = await serve(flaky)
    real = asyncio.open_connection
    refused = [True]

    async def refuse_once(*args, **kwargs):
        if refused.pop() if refused else False:
            raise ConnectionRefusedError("not yet")
        return await real(*args, **kwargs)

    monkeypatch.setattr(asyncio, "open_connection", refuse_once)
    try:
        seconds, not_200 = await webhook_client.post_in_order(port2, [[b"{}", b"{}"], [b"[]"]], 2, "secret")
    finally:
        await stop(server, tasks)
        await stop(server2, tasks2)
    assert not_200 == 0 and connections >= 2
