"""Fixtures shared by every test: the recorded listings, and real databases on both engines.

PostgreSQL tests use the server at DIGEST_TEST_POSTGRES_URL (default: the
local one on 127.0.0.1:5432 with trust auth); each test gets a migrated
database of its own, with no rows (tests/support/postgres.py). Tests whose
real part is missing (PostgreSQL, Chromium, ...) skip with the reason, unless
DIGEST_TEST_STRICT=1 (set by .ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, async_playwright

from digest import db as database
from digest.db import Database
from tests.support.postgres import DatabasePool, run_isolated

FIXTURES = Path(__file__).parent / "data" / "fixtures"
POSTGRES_ADMIN_URL = os.environ.get(
    "DIGEST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STRICT = os.environ.get("DIGEST_TEST_STRICT") == "1"
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots and previews for a person to look at


def require_real_part(missing: str | None) -> None:
    """Skip (or, under DIGEST_TEST_STRICT=1, fail) when a real part is missing."""
    if missing:
        if STRICT:
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


def hf_fixture(name: str) -> bytes:
    return (FIXTURES / "hf" / name).read_bytes()


@pytest.fixture(scope="session")
def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""

    async def ping() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        await connection.close()

    try:
        run_isolated(ping())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_pool(postgres_available: str | None) -> Iterator[DatabasePool]:
    require_real_part(postgres_available)
    pool = DatabasePool(POSTGRES_ADMIN_URL)
    try:
        yield pool
    finally:
        pool.close()


def _url_on_engine(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    make: Callable[[DatabasePool], str],
    discard: Callable[[DatabasePool, str], None],
) -> Iterator[str]:
    """The URL of a new SQLite file, or of a PostgreSQL database that ``make`` takes from
    the pool and ``discard`` hands back after the test, by ``request.param``."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}"
        return
    pool: DatabasePool = request.getfixturevalue("postgres_pool")
    name = make(pool)
    try:
        yield pool.url(name)
    finally:
        discard(pool, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no rows on each engine: a new SQLite file (no tables yet; the
    service migrates SQLite by itself), then a migrated PostgreSQL database."""
    yield from _url_on_engine(request, tmp_path, DatabasePool.acquire, DatabasePool.release)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all on each engine, for tests of migrating."""
    yield from _url_on_engine(request, tmp_path, DatabasePool.empty, DatabasePool.drop)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each engine."""
    instance = Database.from_url(database_url)
    await database.upgrade(instance.engine)
    try:
        yield instance
    finally:
        await instance.dispose()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (Debian package chromium) driven by Playwright's async API.

    Async, so it shares the test's event loop: the sync API would keep a loop
    running on the main thread and break every later ``asyncio.run``.
    """
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    require_real_part(
        None if executable else "headless Chromium is not installed (apt-get install chromium)"
    )
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=executable,
            # No sandbox as root in CI; no background traffic on a machine without a network.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The root logger's handlers and level back as they were after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
