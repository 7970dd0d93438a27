"""Options that several commands share, written once so that they read alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
DAY = click.DateTime(["%Y-%m-%d"])  # a listing day as commands take it


def listen_options(command: F) -> F:
    """Add --host and --port, in that order; unset, each falls back to its setting."""
    command = click.option(
        "--port",
        type=click.IntRange(1, 65535),
        default=None,
        help="Port to listen on (default: DIGEST_WEB_PORT, 8000).",
    )(command)
    return click.option(
        "--host", default=None, help="Address to listen on (default: DIGEST_WEB_HOST, 127.0.0.1)."
    )(command)


def day_option(description: str) -> Callable[[F], F]:
    """``--date YYYY-MM-DD`` as ``day`` (a datetime, or None for the default day)."""
    return click.option(
        "--date",
        "day",
        type=DAY,
        default=None,
        metavar="YYYY-MM-DD",
        help=description,
    )
