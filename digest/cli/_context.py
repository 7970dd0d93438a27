"""What every command shares: the settings and the App built from them, and async running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from digest import logs
from digest.app import App
from digest.config import Settings, load_settings

T = TypeVar("T")


def settings() -> Settings:
    """The settings, read once per command line (logging is configured with them)."""
    meta = click.get_current_context().meta  # one dict shared by the whole command line
    if "digest.settings" not in meta:
        loaded = load_settings()
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        logs.configure(
            "DEBUG" if debug else loaded.log_level, loaded.log_format, pii=loaded.log_pii
        )
        meta["digest.settings"] = loaded
    found: Settings = meta["digest.settings"]
    return found


def run_with_app(work: Callable[[App], Awaitable[T]], *, prepare_database: bool = True) -> T:
    """Build the App from the settings, run ``work`` on it and close it again."""
    loaded = settings()

    async def main() -> T:
        app = App.from_settings(loaded)
        try:
            if prepare_database:
                await app.prepare_database()
            return await work(app)
        finally:
            await app.close()

    return asyncio.run(main())
