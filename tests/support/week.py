"""A week of listings and an App on the real parts, for tests of the daily job over days.

The recorded listing of Friday 12 June 2026 (30 papers) is dealt out over the five
weekdays of that week, six papers a day, so each day has papers of its own; Saturday
and Sunday have none, like the real site at weekends.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from digest import pipeline
from digest.app import App
from digest.clock import yesterday
from digest.config import Settings
from digest.matching import Document, Matcher
from digest.sources.hf_daily import parse_api_items
from tests.conftest import hf_fixture
from tests.support.cli import SECRET_KEY
from tests.support.smtp_server import SmtpServer

RECORDING = "api-daily_papers-2026-06-12.json"
MONDAY = dt.date(2026, 6, 8)
WEEKDAYS = [MONDAY + dt.timedelta(days=n) for n in range(5)]  # 8 to 12 June 2026
PER_DAY = 6


def week_of_listings() -> dict[str, bytes]:
    """``/api/daily_papers`` bodies by day: six recorded papers on each weekday."""
    items = json.loads(hf_fixture(RECORDING))
    return {
        day.isoformat(): json.dumps(items[n * PER_DAY : (n + 1) * PER_DAY]).encode()
        for n, day in enumerate(WEEKDAYS)
    }


def papers_of(day: dt.date) -> list[str]:
    """The arXiv ids listed on ``day`` in ``week_of_listings``."""
    body = week_of_listings().get(day.isoformat())
    return [record.arxiv_id for record in parse_api_items(body, day)] if body else []


def matches(query: str, days: list[dt.date]) -> set[str]:
    """The ids among these days' papers that ``query`` matches, by the real matcher."""
    documents = [
        Document(r.arxiv_id, r.title, r.abstract, r.upvotes, tuple(r.authors))
        for day in days
        if (body := week_of_listings().get(day.isoformat()))
        for r in parse_api_items(body, day)
    ]
    return {match.paper_id for match in Matcher({1: [query]}).match(documents).get(1, [])}


def service_settings(
    database_url: str, smtp: SmtpServer, listing_url: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "hf_base_url": listing_url,
        "http_backoff_seconds": 0,
        "http_retries": 0,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_timeout": 10.0,
        "secret_key": SECRET_KEY,
        "mail_from": "Paper Digest <digest@example.org>",
        "public_url": "https://digest.example.org",
    }
    return Settings(**(values | overrides))


def service_app(
    database_url: str, smtp: SmtpServer, listing_url: str, clock: Any, **overrides: Any
) -> App:
    return App.from_settings(
        service_settings(database_url, smtp, listing_url, **overrides), clock=clock
    )


async def daily_job(app: App) -> pipeline.DailyReport:
    """What the scheduler's job does at a firing: catch up to yesterday (a week back at
    most), then send what is due."""
    async with app.source() as source:
        report = await pipeline.catch_up(
            yesterday(app.clock),
            window=7,
            db=app.db,
            source=source,
            timetable=app.timetable,
            sender=app.sender(),
            clock=app.clock,
        )
    assert report is not None
    return report
