"""The scheduler on a controlled clock (time-machine): it fires the daily job at the
configured time and not before, catches up the days missed while the service was down
with one email per subscriber, and runs a firing that comes late once, not never and
not once per missed firing. Real databases, listing server and SMTP server."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator

import pytest
import time_machine
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from digest.app import App
from digest.db import Database
from digest.models import Cadence, Run, SubscriberStatus
from digest.pipeline import INTERRUPTED
from digest.run_lock import RunLock
from digest.scheduler import JOB_ID, DailyJob, build_scheduler
from digest.store import subscribers
from tests.support.listing_server import ListingServer, Reply, Request, daily_papers, serving
from tests.support.smtp_server import SmtpServer
from tests.support.week import WEEKDAYS, matches, service_app, week_of_listings

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
BOUND_SECONDS = 30.0


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(daily_papers(week_of_listings())) as server:
        yield server


def berlin(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, minute, second, tzinfo=BERLIN)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def run_days(db: Database) -> list[tuple[dt.date, str]]:
    async with db.transaction() as session:
        rows = await session.execute(select(Run.day, Run.status).order_by(Run.id))
        return [(day, str(status)) for day, status in rows]


async def app_with_subscriber(database_url: str, smtp: SmtpServer, listing: ListingServer) -> App:
    # The real clock: time-machine moves it for everybody (the scheduler reads it itself).
    app = service_app(
        database_url,
        smtp,
        listing.url,
        dt.datetime.now,
        schedule="0 7 * * 2-6",
        timezone="Europe/Berlin",
    )
    app.clock = lambda: dt.datetime.now(dt.UTC)
    async with app.db.transaction() as session:
        await subscribers.add(
            session,
            "ada@example.org",
            ["model"],
            SubscriberStatus.ACTIVE,
            app.clock(),
            Cadence.DAILY,
        )
    return app


async def processed() -> None:
    """Return once the loop has handled what was asked of it before (a ``wakeup()``):
    callbacks run in the order they were scheduled."""
    done = asyncio.Event()
    asyncio.get_running_loop().call_soon_threadsafe(done.set)
    await done.wait()


def executions(scheduler: AsyncIOScheduler) -> list[JobExecutionEvent]:
    found: list[JobExecutionEvent] = []
    scheduler.add_listener(found.append, EVENT_JOB_EXECUTED)
    return found


async def test_the_job_fires_at_the_configured_time_and_not_before(
    db: Database, database_url: str, smtp: SmtpServer, listing: ListingServer
) -> None:
    with time_machine.travel(berlin(9, 6, 59, 50), tick=False) as traveller:
        app = await app_with_subscriber(database_url, smtp, listing)
        job = DailyJob(app, send=True)
        scheduler = build_scheduler(app, job, run_at_start=False)
        ran = executions(scheduler)
        scheduler.start()
        try:
            scheduler.wakeup()
            await processed()
            assert scheduler.get_job(JOB_ID).next_run_time == berlin(9, 7)  # not fired
            assert (ran, await run_days(db)) == ([], [])

            traveller.move_to(berlin(9, 7, 0, 0))  # Tuesday 07:00 in Berlin
            scheduler.wakeup()
            await until(lambda: len(ran) == 1, "the job to run")
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)

    assert ran[0].scheduled_run_time == berlin(9, 7)
    assert await run_days(db) == [(WEEKDAYS[0], "sent")]  # Monday's listing
    [message] = smtp.messages_to("ada@example.org")
    assert message["Subject"].endswith("Mon 8 Jun 2026")
    await app.close()


async def test_on_start_up_it_catches_up_the_days_missed_with_one_email(
    db: Database, database_url: str, smtp: SmtpServer, listing: ListingServer
) -> None:
    with time_machine.travel(berlin(9, 7), tick=False) as traveller:
        app = await app_with_subscriber(database_url, smtp, listing)
        job = DailyJob(app, send=True)
        await job.run()  # Tuesday: runs Monday
        traveller.move_to(berlin(10, 7))
        await job.run()  # Wednesday: runs Tuesday; then the service is down until Saturday
        assert len(smtp.received) == 2

        traveller.move_to(berlin(13, 10, 30))
        scheduler = build_scheduler(app, job)  # run_at_start: catch up now
        ran = executions(scheduler)
        scheduler.start()
        try:
            await until(lambda: len(ran) == 1, "the start-up run")
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)

    assert [day for day, _ in await run_days(db)] == WEEKDAYS  # each day once, in order
    assert len(smtp.received) == 3
    caught_up = smtp.messages_to("ada@example.org")[-1]
    assert caught_up["Subject"].endswith("10 Jun – 12 Jun 2026")
    text = caught_up.get_body(("plain",)).get_content()
    assert all(paper in text for paper in matches("model", WEEKDAYS[2:]))
    await app.close()


async def test_firings_missed_by_a_suspended_host_run_once_late(
    db: Database, database_url: str, smtp: SmtpServer, listing: ListingServer
) -> None:
    with time_machine.travel(berlin(9, 6, 0), tick=False) as traveller:
        app = await app_with_subscriber(database_url, smtp, listing)
        job = DailyJob(app, send=True)
        scheduler = build_scheduler(app, job, run_at_start=False)
        ran = executions(scheduler)
        scheduler.start()
        try:
            scheduler.wakeup()
            await processed()
            # The host sleeps through the firings of Tuesday to Friday, waking at 15:00.
            traveller.move_to(berlin(12, 15, 0))
            scheduler.wakeup()
            await until(lambda: len(ran) >= 1, "the late run")
            assert scheduler.get_job(JOB_ID).next_run_time == berlin(13, 7)
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)

    assert len(ran) == 1  # coalesced: one run for four missed firings (else four in a row)
    assert ran[0].scheduled_run_time == berlin(12, 7)
    # The first run ever starts with yesterday; the ledger and catch-up do the rest.
    assert await run_days(db) == [(WEEKDAYS[3], "sent")]
    assert len(smtp.received) == 1
    await app.close()


class Gate:
    """Holds every listing request until opened: a day stays in flight."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.listings = daily_papers(week_of_listings())

    def __call__(self, request: Request) -> Reply:
        self.opened.wait(BOUND_SECONDS)
        return self.listings(request)


async def test_a_stop_cancels_a_day_that_does_not_finish_in_time_and_records_it(
    db: Database, database_url: str, smtp: SmtpServer
) -> None:
    gate = Gate()
    with serving(gate) as listing:
        app = await app_with_subscriber(database_url, smtp, listing)
        job = DailyJob(app)
        running = asyncio.create_task(job.run())
        try:
            await until(lambda: bool(listing.requests), "the day's fetch to start")
            await job.finish(grace_seconds=0.1)
        finally:
            gate.opened.set()
    assert running.done() and not running.cancelled()  # the job ended quietly
    [(_, status)] = await run_days(db)
    assert status == "failed"
    async with db.transaction() as session:
        error = await session.scalar(select(Run.error))
    assert error == INTERRUPTED
    async with RunLock(db).hold() as held:
        assert held  # the run lock went with the cancelled run
    await job.run()  # a firing after the stop does nothing
    assert len(await run_days(db)) == 1
    await app.close()


async def test_the_job_alerts_the_admin_when_a_day_fails_or_it_cannot_run(
    db: Database, database_url: str, smtp: SmtpServer
) -> None:
    down = lambda request: Reply(503, b"down", {"Content-Type": "text/plain"})  # noqa: E731
    with serving(down) as listing:
        app = service_app(
            database_url, smtp, listing.url, dt.datetime.now, admin_email="ops@example.org"
        )
        app.clock = lambda: dt.datetime.now(dt.UTC)
        await DailyJob(app).run()
        await app.close()
        unreachable = service_app(
            "postgresql+asyncpg://digest@127.0.0.1:1/digest",
            smtp,
            listing.url,
            dt.datetime.now,
            admin_email="ops@example.org",
        )
        unreachable.clock = lambda: dt.datetime.now(dt.UTC)
        await DailyJob(unreachable).run()
        await unreachable.close()

    failed_day, no_database = (
        message.get_body(("plain",)).get_content()
        for message in smtp.messages_to("ops@example.org")
    )
    assert "HTTP 503" in failed_day
    assert "the daily job could not run:" in no_database
