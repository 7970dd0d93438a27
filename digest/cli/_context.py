"""What every command shares: the settings and the App built from them, and async running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from digest import logs
from digest.app import App
from digest.config import load_settings

T = TypeVar("T")


def run_with_app(work: Callable[[App], Awaitable[T]], *, prepare_database: bool = True) -> T:
    """Load the settings, build the App, run ``work`` on it and close it again."""
    ctx = click.get_current_context()
    debug = bool(ctx.find_root().params.get("debug"))
    settings = load_settings()
    logs.configure("DEBUG" if debug else settings.log_level)

    async def main() -> T:
        app = App.from_settings(settings)
        try:
            if prepare_database:
                await app.prepare_database()
            return await work(app)
        finally:
            await app.close()

    return asyncio.run(main())
