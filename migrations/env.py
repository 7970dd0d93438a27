"""Alembic environment.

``digest db upgrade`` passes an open connection in ``config.attributes``; the
``alembic`` command line (from a checkout, with alembic.ini) connects by itself
to DIGEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from digest.models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    from digest.config import load_settings
    from digest.db import create_engine

    engine = create_engine(load_settings().database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run 'digest db upgrade'")

shared_connection = context.config.attributes.get("connection")
if shared_connection is not None:
    run_with(shared_connection)
else:
    asyncio.run(run_standalone())
