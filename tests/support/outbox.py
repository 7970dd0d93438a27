"""Filling an outbox for sender tests: real papers from a recorded listing, real subscribers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from digest.config import Settings
from digest.db import Database
from digest.emails import EmailComposer
from digest.mail import SmtpMailer
from digest.matching import Match
from digest.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from digest.pacing import Timer
from digest.rendering import Renderer, create_environment
from digest.sender import Sender, SendPolicy
from digest.sources.hf_daily import parse_api_items
from digest.store import deliveries, papers, subscribers
from digest.tokens import LinkSigner
from tests.conftest import hf_fixture
from tests.support.cli import SECRET_KEY
from tests.support.smtp_server import SmtpServer

DAY = dt.date(2026, 6, 12)
START = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)
MAIL_FROM = "Paper Digest <digest@example.org>"


@dataclass
class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    now: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class FakeTimer:
    """Monotonic time that waits by moving forward; records every wait."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def wait(self, stop: object, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def seed(
    db: Database, addresses: Sequence[str], now: dt.datetime, papers_each: int = 3
) -> dict[str, int]:
    """Active subscribers with one queued delivery each; returns delivery ids by address."""
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)
    ids: dict[str, int] = {}
    async with db.transaction() as session:
        await papers.upsert_papers(session, records, "api", now)
        for number, address in enumerate(addresses):
            subscriber = await subscribers.add(
                session, address, ["model"], SubscriberStatus.ACTIVE, now
            )
            chosen = [records[(number + k) % len(records)] for k in range(papers_each)]
            matches = [Match(r.arxiv_id, ("model",), 1.0) for r in chosen]
            ids[address] = await deliveries.enqueue(session, subscriber.id, matches, None, now)
    return ids


async def enqueue_more(db: Database, address: str, now: dt.datetime, paper_index: int) -> int:
    """One more delivery (a later day's paper) for an existing subscriber."""
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)
    async with db.transaction() as session:
        subscriber = await subscribers.get_by_email(session, address)
        assert subscriber is not None
        match = Match(records[paper_index].arxiv_id, ("model",), 1.0)
        return await deliveries.enqueue(session, subscriber.id, [match], None, now)


async def delivery(db: Database, delivery_id: int) -> Delivery:
    async with db.transaction() as session:
        found = await session.get(Delivery, delivery_id, populate_existing=True)
        assert found is not None
        return found


async def delivery_counts(db: Database) -> dict[DeliveryStatus, int]:
    """How many deliveries are in each status, read with a query of the test's own."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return {DeliveryStatus(status): count for status, count in rows}


async def assert_nothing_half_recorded(db: Database, delivered: int, queued: int) -> None:
    """After a sender stopped gracefully: the ``delivered`` messages the SMTP server has are
    'sent', and the rest of the ``queued`` wait unclaimed, handed back without an attempt
    counted. Some must be left over, or the stop came too late to prove anything."""
    counts = await delivery_counts(db)
    assert counts.get(DeliveryStatus.SENDING, 0) == 0
    assert counts.get(DeliveryStatus.SENT, 0) == delivered < queued
    assert counts.get(DeliveryStatus.PENDING, 0) == queued - delivered
    async with db.transaction() as session:
        tried = await session.scalar(
            select(func.count()).where(
                Delivery.status == DeliveryStatus.PENDING, Delivery.attempts > 0
            )
        )
    assert tried == 0


async def subscriber(db: Database, address: str) -> Subscriber:
    async with db.transaction() as session:
        found = await session.scalar(
            select(Subscriber)
            .where(Subscriber.email == address)
            .execution_options(populate_existing=True)
        )
        assert found is not None
        return found


def smtp_settings(smtp: SmtpServer, **overrides: object) -> Settings:
    options: dict[str, object] = {
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_timeout": 10.0,
        "secret_key": SECRET_KEY,
        "mail_from": MAIL_FROM,
        "public_url": "https://digest.example.org",
    }
    return Settings(**(options | overrides))  # type: ignore[arg-type]


def composer(clock: FakeClock) -> EmailComposer:
    return EmailComposer(
        Renderer(create_environment()),
        LinkSigner(SECRET_KEY),
        public_url="https://digest.example.org",
        mail_from=MAIL_FROM,
        clock=clock,
    )


def smtp_sender(
    db: Database,
    settings: Settings,
    clock: FakeClock,
    timer: Timer | None = None,
    policy: SendPolicy | None = None,
) -> Sender:
    return Sender(
        db=db,
        mailers=lambda: SmtpMailer(settings),
        composer=composer(clock),
        envelope_from=settings.sender_address,
        policy=policy or SendPolicy.from_settings(settings),
        clock=clock,
        timer=timer or FakeTimer(),
    )
