"""Engine and session factories, and the migration runner (Alembic's API, driven from code)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from digest.errors import DatabaseError
from digest.resources import resource_dir

T = TypeVar("T")


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys, WAL and a busy timeout on every connection."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """The engine and its sessions. Each unit of work runs in one ``transaction()``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, database_url: str) -> Database:
        return cls(create_engine(database_url))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self, *, rollback: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed at the end of the block, or rolled back on error.

        With ``rollback=True`` the work is always rolled back: a dry run does the real
        work and sees its effects, then leaves no trace.
        """
        if not rollback:
            async with self._sessions.begin() as session:
                yield session
            return
        async with self._sessions() as session:
            await session.begin()
            try:
                yield session
            finally:
                await session.rollback()

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` on a connection of ``engine``."""
    await _with_connection(engine, lambda conn: _alembic(conn, command.upgrade, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database back to ``revision`` ("base" empties it)."""
    await _with_connection(engine, lambda conn: _alembic(conn, command.downgrade, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    return await _with_connection(
        engine, lambda conn: MigrationContext.configure(conn).get_current_revision()
    )


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Refuse to work on a database that is not at the latest revision."""
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        raise DatabaseError(
            f"the database is at revision {current or 'none'}, not {head}: run 'digest db upgrade'"
        )


async def schema_differences(engine: AsyncEngine) -> list[str]:
    """How the database's tables differ from the models, one line each (none: they agree).

    Alembic's autogenerate comparison, as ``alembic check`` does it: catches a schema
    changed by hand or by a migration from another branch.
    """
    from digest.models import Base  # the models are only needed here, not to migrate

    def compare(connection: Connection) -> list[str]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [_describe_difference(diff) for diff in compare_metadata(context, Base.metadata)]

    return await _with_connection(engine, compare)


def _describe_difference(diff: Any) -> str:
    """'add_column subscribers.nickname', 'remove_index ix_papers_listed_on', ..."""
    if isinstance(diff, list):  # column modifications come as a list of steps
        return "; ".join(_describe_difference(step) for step in diff)
    action, *details = diff
    if action.startswith("modify_"):  # (action, schema, table, column, ...)
        return f"{action} {details[1]}.{details[2]}"
    if action in ("add_column", "remove_column"):  # (action, schema, table, column)
        return f"{action} {details[1]}.{details[2].name}"
    target = details[0]
    return f"{action} {getattr(target, 'name', target)}"


def _alembic(connection: Connection, action: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    # env.py uses this connection instead of opening its own (Alembic cookbook:
    # "Sharing a Connection across one or more programmatic migration commands").
    config.attributes["connection"] = connection
    action(config, revision)


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite database; None for other databases and in-memory ones."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


async def _with_connection(engine: AsyncEngine, work: Callable[[Connection], T]) -> T:
    # A SQLite file in a missing folder is refused before aiosqlite tries it: after a
    # failed connect its worker thread can call back into a closed event loop and print
    # a traceback (omnilib/aiosqlite#241).
    path = sqlite_file(engine.url)
    if path is not None and not path.parent.is_dir():
        raise DatabaseError(
            f"cannot use the database {describe_url(engine)}: no folder {path.parent}"
        )
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseError(
            f"cannot use the database {describe_url(engine)}: {_reason(exc)}"
        ) from exc


def describe_url(engine: AsyncEngine) -> str:
    """The database URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )
