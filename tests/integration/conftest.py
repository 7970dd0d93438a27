"""Fixtures shared by the integration tests: the real servers and processes they run against."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import Process
from tests.support.smtp_server import SmtpServer, smtp_serving
from tests.support.web import Site, serving


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that accepts and records every message."""
    with smtp_serving() as server:
        yield server


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Append each ``Process`` a test starts: any still running at the end are killed."""
    started: list[Process] = []
    yield started
    for process in started:
        process.stop_for_good()


@pytest.fixture
async def site(
    database_url: str, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Site]:
    """The web pages of a fresh App on each database, served for real on 127.0.0.1.

    Run from ``tmp_path``, so nothing the service writes lands in the checkout.
    """
    monkeypatch.chdir(tmp_path)
    async with serving(database_url, smtp) as running:
        yield running
