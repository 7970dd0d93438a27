"""Fixtures shared by every test: the recorded listings, and real databases on both engines.

PostgreSQL tests use the server at DIGEST_TEST_POSTGRES_URL (default: the
local one on 127.0.0.1:5432 with trust auth); each test gets a database of
its own, dropped afterwards. Without a server they skip, unless
DIGEST_TEST_REQUIRE_POSTGRES=1 (set by .ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from digest import db as database
from digest.db import Database

FIXTURES = Path(__file__).parent / "data" / "fixtures"
POSTGRES_ADMIN_URL = os.environ.get(
    "DIGEST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("DIGEST_TEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


def hf_fixture(name: str) -> bytes:
    return (FIXTURES / "hf" / name).read_bytes()


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}"
    return None


def _postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_available: str | None
) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}"
        return
    if postgres_available:
        if REQUIRE_POSTGRES:
            pytest.fail(postgres_available)
        pytest.skip(postgres_available)
    name = f"digest_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _postgres_url(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each engine."""
    instance = Database.from_url(database_url)
    await database.upgrade(instance.engine)
    try:
        yield instance
    finally:
        await instance.dispose()
