"""Cadence over a real week, on both databases, with the clock under the test's control:
weekly subscribers get one digest on the weekly day with everything since the last one;
paused subscribers get nothing and, on resume, one digest capped like any other; and
days caught up together make one email even when a sender runs in between."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from digest import pipeline, subscriptions
from digest.app import App
from digest.db import Database
from digest.models import Cadence, Delivery, DeliveryPaper, DeliveryStatus, SubscriberStatus
from digest.sources import Listing, Source
from digest.store import subscribers
from tests.support.listing_server import ListingServer, daily_papers, serving
from tests.support.outbox import FakeClock
from tests.support.smtp_server import SmtpServer
from tests.support.week import (
    WEEKDAYS,
    daily_job,
    matches,
    papers_of,
    service_app,
    week_of_listings,
)

UTC = dt.UTC


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(daily_papers(week_of_listings())) as server:
        yield server


def morning(day: dt.date, hour: int = 7, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


async def add(app: App, email: str, query: str, cadence: Cadence = Cadence.DAILY) -> None:
    async with app.db.transaction() as session:
        await subscribers.add(
            session, email, [query], SubscriberStatus.ACTIVE, app.clock(), cadence
        )


def paper_ids(smtp: SmtpServer, address: str) -> list[set[str]]:
    found = []
    for message in smtp.messages_to(address):
        text = message.get_body(("plain",)).get_content()
        found.append(set(re.findall(r"huggingface\.co/papers/(\d{4}\.\d{4,5})", text)))
    return found


async def test_a_weekly_subscriber_gets_the_whole_week_once_on_the_weekly_day(
    db: Database, database_url: str, smtp: SmtpServer, listing: ListingServer
) -> None:
    clock = FakeClock(morning(WEEKDAYS[0], 6))
    app = service_app(database_url, smtp, listing.url, clock, weekly_day="mon")
    await add(app, "weekly@example.org", "model", Cadence.WEEKLY)
    await add(app, "daily@example.org", "model")

    for day in WEEKDAYS:  # Monday to Friday, each run the next morning
        clock.now = morning(day + dt.timedelta(days=1))
        await daily_job(app)
        assert paper_ids(smtp, "daily@example.org")[-1] == matches("model", [day])
    assert smtp.messages_to("weekly@example.org") == []
    assert len(smtp.messages_to("daily@example.org")) == 5

    clock.now = morning(WEEKDAYS[0] + dt.timedelta(days=6))  # Sunday: runs Saturday
    assert [run.status for run in (await daily_job(app)).runs] == ["no_listing"]
    clock.now = morning(WEEKDAYS[0] + dt.timedelta(days=7), 6, 59)  # Monday, just before
    assert (await app.sender().drain_once()).sent == 0

    clock.now = morning(WEEKDAYS[0] + dt.timedelta(days=7))  # Monday 07:00: it is due
    job = await daily_job(app)  # runs Sunday (nothing listed), then sends what is due

    assert [run.status for run in job.runs] == ["no_listing"]
    assert job.sending is not None
    report = job.sending
    assert report.sent == 1
    [weekly] = smtp.messages_to("weekly@example.org")
    assert paper_ids(smtp, "weekly@example.org") == [matches("model", WEEKDAYS)]
    assert weekly["Subject"] == "23 new papers for you · 8 Jun – 12 Jun 2026"
    # The next week starts a new weekly digest; nothing of this week is sent again.
    clock.now = morning(WEEKDAYS[0] + dt.timedelta(days=8))
    await daily_job(app)  # runs Monday 15 June: nothing listed, nothing due
    assert len(smtp.messages_to("weekly@example.org")) == 1
    await app.close()


async def test_a_paused_subscriber_gets_nothing_then_one_capped_digest_on_resume(
    db: Database, database_url: str, smtp: SmtpServer, listing: ListingServer
) -> None:
    clock = FakeClock(morning(WEEKDAYS[0], 6))
    app = service_app(database_url, smtp, listing.url, clock, max_papers_per_email=5)
    await add(app, "resting@example.org", "model")
    await subscriptions.pause_subscriber(app.db, "resting@example.org", clock=clock)

    for day in WEEKDAYS:
        clock.now = morning(day + dt.timedelta(days=1))
        await daily_job(app)
    assert smtp.received == []
    async with db.transaction() as session:
        waiting = await session.scalar(select(func.count()).select_from(Delivery))
        collected = await session.scalar(select(func.count()).select_from(DeliveryPaper))
    assert (waiting, collected) == (1, 23)  # one digest, collecting while they rest

    await subscriptions.resume_subscriber(app.db, "resting@example.org", clock=clock)
    report = await app.sender().drain_once()

    assert report.sent == 1
    [message] = smtp.messages_to("resting@example.org")
    text = message.get_body(("plain",)).get_content()
    assert len(paper_ids(smtp, "resting@example.org")[0]) == 5  # the cap
    assert "...and 18 more on Hugging Face" in text
    assert message["Subject"] == "23 new papers for you · 8 Jun – 12 Jun 2026"
    clock.now = morning(WEEKDAYS[-1] + dt.timedelta(days=3))  # Monday: runs the weekend
    await daily_job(app)
    assert len(smtp.received) == 1  # no flood, nothing twice
    await app.close()


class SenderInBetween:
    """A source that lets another sender drain the outbox before each day is fetched,
    as a `digest worker` on another host would while days are being caught up."""

    def __init__(self, source: Source, app: App) -> None:
        self.source, self.app, self.sent_in_between = source, app, 0

    async def fetch_day(self, day: dt.date) -> Listing:
        self.sent_in_between += (await self.app.sender().drain_once()).sent
        return await self.source.fetch_day(day)


async def test_days_caught_up_together_make_one_email_even_with_a_sender_running(
    db: Database, database_url: str, smtp: SmtpServer, listing: ListingServer
) -> None:
    clock = FakeClock(morning(WEEKDAYS[0], 6))
    app = service_app(database_url, smtp, listing.url, clock)
    await add(app, "ada@example.org", "model")

    clock.now = morning(WEEKDAYS[-1] + dt.timedelta(days=1))  # Saturday: five days to run
    async with app.source() as real:
        source = SenderInBetween(real, app)
        daily = await pipeline.run_and_send(
            WEEKDAYS,
            db=app.db,
            source=source,
            sender=app.sender(),
            timetable=app.timetable,
            clock=clock,
        )

    assert [run.status for run in daily.runs] == ["sent"] * 5
    assert source.sent_in_between == 0  # held until the last day was in
    assert daily.sending is not None and daily.sending.sent == 1
    assert paper_ids(smtp, "ada@example.org") == [matches("model", WEEKDAYS)]
    async with db.transaction() as session:
        statuses = list(await session.scalars(select(Delivery.status)))
    assert statuses == [DeliveryStatus.SENT]
    assert papers_of(WEEKDAYS[0])  # the week really has papers on each day
    await app.close()
