"""PostgreSQL databases for tests: real, migrated, and reused rather than re-created.

CREATE DATABASE and DROP DATABASE cost about a second each on this server, far
more than most tests. So a session keeps a pool of migrated databases: a test
takes one, and afterwards its rows are emptied (TRUNCATE ... RESTART IDENTITY)
and it goes back to the pool. A database whose schema a test changed (a
downgrade, a dropped column, an extra index) is dropped instead, and a new one
is made when needed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg

from digest import db as database
from digest.db import Database
from digest.models import Base

T = TypeVar("T")


def run_isolated(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on an event loop of its own thread: fixtures may be set up
    while the test's loop (or Playwright's) is running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class DatabasePool:
    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self._base = admin_url.rsplit("/", 1)[0]
        self._free: list[str] = []
        self._made: list[str] = []
        self._tables = sorted(Base.metadata.tables)
        self._schema: list[tuple[object, ...]] | None = None  # as the migrations made it

    def url(self, name: str) -> str:
        """The SQLAlchemy URL the service uses for database ``name``."""
        return f"{self._base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"

    def empty(self) -> str:
        """A new database with no tables at all (for tests of migrating)."""
        name = f"digest_test_{uuid.uuid4().hex[:12]}"
        run_isolated(self._admin(f'CREATE DATABASE "{name}"'))
        self._made.append(name)
        return name

    def acquire(self) -> str:
        """A migrated database with no rows."""
        if self._free:
            return self._free.pop()
        name = self.empty()
        run_isolated(self._migrate(name))
        if self._schema is None:
            self._schema = run_isolated(self._describe(name))
        return name

    def release(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it if its schema is not the models'."""
        if run_isolated(self._reset(name)):
            self._free.append(name)
        else:
            self.drop(name)

    def drop(self, name: str) -> None:
        run_isolated(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._made.remove(name)

    def close(self) -> None:
        for name in list(self._made):
            self.drop(name)
        self._free.clear()

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self._admin_url, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def _migrate(self, name: str) -> None:
        instance = Database.from_url(self.url(name))
        try:
            await database.upgrade(instance.engine)
        finally:
            await instance.dispose()

    async def _describe(self, name: str) -> list[tuple[object, ...]]:
        connection = await asyncpg.connect(f"{self._base}/{name}", timeout=10)
        try:
            return await _schema_of(connection)
        finally:
            await connection.close()

    async def _reset(self, name: str) -> bool:
        connection = await asyncpg.connect(f"{self._base}/{name}", timeout=10)
        try:
            # Whatever the test left connected (a killed worker, say) lets go first.
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if await _schema_of(connection) != self._schema:
                return False
            quoted = ", ".join(f'"{table}"' for table in self._tables)
            await connection.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            return True
        except asyncpg.PostgresError:
            return False
        finally:
            await connection.close()


async def _schema_of(connection: asyncpg.Connection) -> list[tuple[object, ...]]:
    """Every column, index and constraint of the public schema, and the revision."""
    rows = await connection.fetch(
        """
        SELECT 'column', table_name::text, column_name::text,
               data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
        FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL
        SELECT 'index', tablename::text, indexname::text, indexdef
        FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL
        SELECT 'constraint', conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        ORDER BY 1, 2, 3, 4
        """
    )
    revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    return [tuple(row) for row in rows] + [("revision", revision)]
