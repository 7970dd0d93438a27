"""Time, passed in rather than read from the system, so tests control it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime: the default Clock."""
    return dt.datetime.now(dt.UTC)


def yesterday(clock: Clock = utcnow) -> dt.date:
    """The day before today, in UTC: the listing a daily run reads by default."""
    return clock().date() - dt.timedelta(days=1)
