"""The campaign sender's rate: evenly spaced sends shared by every worker, paused when Telegram asks."""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable


class RateLimiter:
    """Evenly spaced sends (a token bucket of capacity ``burst``), shared by every worker.

    The bucket alone is not enough: a worker the event loop wakes late and one woken on time
    send back to back. So the moments ``acquire`` returns are also kept for the last second,
    and no more than ``per_second`` are let through in any one-second window.
    """

    def __init__(self, per_second: float, burst: int = 1, clock: Callable[[], float] = time.monotonic):
        if per_second <= 0:
            raise ValueError("the rate must be positive")
        self.interval = 1.0 / per_second
        self.burst = max(1, burst)
        self.per_window = max(1, int(per_second))
        self.clock = clock
        self._next = clock() - self.interval * (self.burst - 1)  # the earliest moment the next token exists
        self._paused_until = 0.0
        self._recent: deque[float] = deque()

    async def acquire(self) -> None:
        while True:
            now = self.clock()
            slot = max(self._next, now - self.interval * (self.burst - 1), self._paused_until)
            self._next = slot + self.interval  # reserved before awaiting: no other worker gets this slot
            if slot > now:
                await asyncio.sleep(slot - now)
            now = self.clock()
            if now < self._paused_until:
                continue  # Telegram asked us to pause while we waited for this slot: take a later one
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_window:
                await asyncio.sleep(self._recent[0] + 1.0 - now)
                continue
            self._recent.append(now)
            return

    def pause(self, seconds: float) -> None:
        """Telegram's RetryAfter: nobody sends until ``seconds`` from now."""
        until = self.clock() + max(0.0, seconds)
        self._paused_until = max(self._paused_until, until)
        self._next = max(self._next, self._paused_until)
