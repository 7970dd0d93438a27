"""``digest db``: the database schema."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url

from digest import db as database
from digest.app import App
from digest.cli._context import run_with_app, settings
from digest.errors import DatabaseError


@click.group()
def db() -> None:
    """Create, migrate and check the database schema.

    \b
    Example:
      digest db check || digest db upgrade
    """


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


@db.command()
def current() -> None:
    """Print the database's revision, and whether it is the latest.

    \b
    Example:
      digest db current
    """
    head = database.head_revision()
    if _missing_sqlite_file():
        click.echo(f"none (no database file yet; the latest is {head})")
        return

    async def work(app: App) -> str | None:
        return await database.current_revision(app.db.engine)

    revision = run_with_app(work, prepare_database=False)
    if revision == head:
        click.echo(f"{revision} (the latest)")
    else:
        click.echo(f"{revision or 'none'} (the latest is {head}: run 'digest db upgrade')")


@db.command()
def check() -> None:
    """Exit 0 when the database is at the latest revision and its tables match the
    models; otherwise exit 1 with one line saying what differs. Changes nothing.

    \b
    Example:
      digest db check && digest run
    """
    head = database.head_revision()
    if missing := _missing_sqlite_file():
        raise DatabaseError(f"no database file {missing}: run 'digest db upgrade'")

    async def work(app: App) -> list[str]:
        await database.ensure_migrated(app.db.engine)
        return await database.schema_differences(app.db.engine)

    differences = run_with_app(work, prepare_database=False)
    if differences:
        raise DatabaseError(
            f"the database is at revision {head}, but its schema differs from the models: "
            f"{', '.join(differences)}"
        )
    click.echo(f"database at revision {head}, the latest; its schema matches the models")


def _missing_sqlite_file() -> Path | None:
    """The file of a SQLite database that does not exist yet (connecting would create it)."""
    path = database.sqlite_file(make_url(settings().database_url))
    if path is None or path.exists() or not path.parent.is_dir():
        return None  # a missing folder is reported when connecting
    return path
