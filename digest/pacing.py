"""Time for the sender (a monotonic clock and sleeps, injectable) and its rate cap."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Timer(Protocol):
    """Monotonic seconds and ways to wait; tests pass one that only pretends to wait."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
        ...


class RealTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


class Pacer:
    """A token bucket of depth one: at most ``rate`` messages per second, evenly spaced,
    shared by every connection of a sender. ``rate`` 0 means no cap.

    Time spent idle (an outage, an empty outbox) earns no credit, so sending after
    a pause starts at the capped pace instead of with a burst: over any span of
    ``t`` seconds at most ``1 + rate * t`` messages go out.
    """

    def __init__(self, rate: float, timer: Timer) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._timer = timer
        self._next = float("-inf")  # when the next message may go
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for the next slot."""
        if not self._interval:
            return
        async with self._lock:
            now = self._timer.monotonic()
            slot = max(now, self._next)
            if slot > now:
                await self._timer.sleep(slot - now)
            self._next = slot + self._interval
