"""Logging set-up, called once by the entry points (never at import)."""

from __future__ import annotations

import logging
import sys


def configure(level: str) -> None:
    """One line per event on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter (httpx logs every request at INFO) only when debugging.
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
