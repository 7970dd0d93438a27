"""``digest db``: the database schema."""

from __future__ import annotations

import click

from digest import db as database
from digest.app import App
from digest.cli._context import run_with_app


@click.group()
def db() -> None:
    """Create and migrate the database schema."""


@db.command()
def upgrade() -> None:
    """Migrate the database to the latest schema (safe to run again).

    \b
    Example:
      DIGEST_DATABASE_URL=postgresql+asyncpg://digest@db/digest digest db upgrade
    """

    async def work(app: App) -> str | None:
        await database.upgrade(app.db.engine)
        return await database.current_revision(app.db.engine)

    revision = run_with_app(work, prepare_database=False)
    click.echo(f"database at revision {revision}")
