"""The --host and --port options of the commands that serve the web pages (web, serve)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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
