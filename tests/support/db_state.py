"""Reading and nudging a test database directly, outside the code under test.

``snapshot`` is how tests prove that a refused command changed nothing: every
row of every table, compared before and after.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import Executable

from digest.db import Database
from digest.models import Base

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(database_url: str) -> Snapshot:
    """Every row of every table of the models, in primary-key order."""

    async def read() -> Snapshot:
        db = Database.from_url(database_url)
        try:
            async with db.engine.connect() as connection:
                tables: Snapshot = {}
                for table in Base.metadata.sorted_tables:
                    rows = await connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                    tables[table.name] = [tuple(row) for row in rows]
                return tables
        finally:
            await db.dispose()

    return asyncio.run(read())


def execute(database_url: str, *statements: Executable) -> None:
    """Run statements in one transaction (to set up what no command can, e.g. a bounce)."""

    async def run() -> None:
        db = Database.from_url(database_url)
        try:
            async with db.engine.begin() as connection:
                for statement in statements:
                    await connection.execute(statement)
        finally:
            await db.dispose()

    asyncio.run(run())
