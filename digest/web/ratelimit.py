"""Rate limits per client address, held in this process's memory (the `limits` library).

One process keeps one count: run several web processes and each allows the
limit on its own. The durable, cross-process limit is the one per target
address (one confirmation email per address per 10 minutes), kept in the
database by ``digest.subscriptions``; these limits only slow a single client down.
"""

from __future__ import annotations

import enum
import math
import time

import limits
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter


class Action(enum.StrEnum):
    SIGNUP = "signup"  # a valid sign-up: it writes a row and may send an email
    FORM = "form"  # any other form submission


class ClientLimits:
    def __init__(self, *, signup: str, form: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items = {Action.SIGNUP: limits.parse(signup), Action.FORM: limits.parse(form)}

    async def allow(self, action: Action, client: str) -> bool:
        """Count one ``action`` by ``client``; False when that is over the limit."""
        return await self._limiter.hit(self._items[action], action.value, client)

    async def retry_after(self, action: Action, client: str) -> int:
        """Seconds until ``client`` may do ``action`` again."""
        stats = await self._limiter.get_window_stats(self._items[action], action.value, client)
        return max(1, math.ceil(stats.reset_time - time.time()))
