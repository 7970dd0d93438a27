"""/healthz and /metrics report real values after real runs, on both databases, served by
uvicorn; and 503 when the database cannot be reached."""

from __future__ import annotations

import datetime as dt

import httpx
from prometheus_client.parser import text_string_to_metric_families

from digest.app import App
from digest.config import Settings
from digest.db import Database
from digest.models import Cadence, SubscriberStatus
from digest.store import subscribers
from digest.web import create_app
from tests.support.listing_server import Reply, Request, daily_papers, serving
from tests.support.outbox import FakeClock
from tests.support.smtp_server import SmtpServer
from tests.support.web import Site
from tests.support.web import serving as web_serving
from tests.support.week import WEEKDAYS, daily_job, matches, week_of_listings

SATURDAY = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)  # the morning after Friday's listing


FAILING: set[str] = set()


def listing(request: Request) -> Reply:
    if request.query.get("date") in FAILING:
        return Reply(503, b"down", {"Content-Type": "text/plain"})
    return daily_papers(week_of_listings())(request)


def metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_health_and_metrics_follow_the_runs(
    db: Database, database_url: str, smtp: SmtpServer
) -> None:
    FAILING.clear()
    clock = FakeClock(SATURDAY)
    with serving(listing) as hf:
        async with web_serving(
            database_url, smtp, clock, hf_base_url=hf.url, http_retries=0
        ) as site:
            await check(site, smtp)


async def check(site: Site, smtp: SmtpServer) -> None:
    app, clock, client = site.app, site.clock, site.client
    fresh = await client.get("/healthz")
    assert fresh.status_code == 503
    assert fresh.headers["content-type"] == "application/json"
    assert fresh.json()["problems"] == ["no run has succeeded yet"]
    assert fresh.json()["last_run"] is None

    async with app.db.transaction() as session:
        for n, cadence in enumerate([Cadence.DAILY, Cadence.DAILY, Cadence.WEEKLY]):
            await subscribers.add(
                session,
                f"reader{n}@example.org",
                ["model"],
                SubscriberStatus.ACTIVE,
                clock(),
                cadence,
            )
    await daily_job(app)  # Saturday 07:00: runs Friday 12 June
    clock.advance(minutes=30)

    healthy = await client.get("/healthz")
    assert healthy.status_code == 200, healthy.text
    body = healthy.json()
    assert body["status"] == "ok"
    assert body["last_run"]["day"] == "2026-06-12"
    assert body["last_run"]["status"] == "sent"
    assert body["last_run"]["age_seconds"] == 30 * 60
    assert body["last_success"] == body["last_run"]
    assert body["max_age_hours"] == 75  # the default schedule's weekend, plus 3 hours

    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    values = metrics(scraped.text)
    assert values[("digest_runs_total", (("status", "sent"),))] == 1
    assert values[("digest_runs_total", (("status", "failed"),))] == 0
    assert values[("digest_emails_sent_total", ())] == 2 == len(smtp.received)
    assert values[("digest_outbox_depth", (("state", "due"),))] == 0
    assert values[("digest_outbox_depth", (("state", "scheduled"),))] == 1  # the weekly one
    assert values[("digest_subscribers", (("status", "active"),))] == 3
    assert values[("digest_last_successful_run_timestamp_seconds", ())] == SATURDAY.timestamp()

    # Sunday: Saturday's listing fails. Unhealthy until a run of that day succeeds.
    FAILING.add("2026-06-13")
    clock.now = SATURDAY + dt.timedelta(days=1)
    await daily_job(app)
    sick = await client.get("/healthz")
    assert sick.status_code == 503
    assert sick.json()["problems"] == ["runs failed and have not succeeded since: 2026-06-13"]
    assert sick.json()["last_run"]["status"] == "failed"
    values = metrics((await client.get("/metrics")).text)
    assert values[("digest_runs_total", (("status", "failed"),))] == 1
    FAILING.clear()
    clock.now = SATURDAY + dt.timedelta(days=2)
    await daily_job(app)  # Monday: runs Saturday again and Sunday
    assert (await client.get("/healthz")).status_code == 200

    # Nothing runs for longer than the longest gap of the schedule: stale.
    clock.advance(hours=76)
    stale = await client.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["problems"] == ["no run has succeeded for 76.0 hours (at most 75.0)"]
    assert matches("model", [WEEKDAYS[-1]])  # the run really had papers to send


async def test_an_unreachable_database_is_a_503() -> None:
    settings = Settings(database_url="postgresql+asyncpg://digest@127.0.0.1:1/digest")
    app = App.from_settings(settings)
    transport = httpx.ASGITransport(app=create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        health = await client.get("/healthz")
        scraped = await client.get("/metrics")
    await app.close()
    assert health.status_code == 503
    assert health.json() == {
        "status": "unhealthy",
        "problems": ["the database cannot be reached"],
        "database": "unreachable",
    }
    assert scraped.status_code == 503
