"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from digest import db as database
from digest.db import Database
from digest.models import Base


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_upgrade_is_idempotent_and_reaches_head(db: Database) -> None:
    await database.upgrade(db.engine)
    assert await database.current_revision(db.engine) == database.head_revision()
    await database.ensure_migrated(db.engine)


async def test_downgrade_to_base_and_back(db: Database) -> None:
    await database.downgrade(db.engine, "base")
    assert await database.current_revision(db.engine) is None
    await database.upgrade(db.engine)
    assert await database.current_revision(db.engine) == database.head_revision()
