"""The daily run (fetch -> store -> match -> enqueue) and the sender that drains the outbox."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.emails import EmailComposer
from digest.errors import DigestError
from digest.mail import Mailer, MailError
from digest.matching import Document, Matcher
from digest.models import Delivery, Paper, RunStatus
from digest.sources import Listing, Source
from digest.store import deliveries, papers, runs, subscribers

log = logging.getLogger(__name__)

RETRY_DELAY = dt.timedelta(minutes=1)
CLAIM_BATCH = 50


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one daily run did; the same figures are kept in its ``runs`` row."""

    run_id: int
    day: dt.date
    status: RunStatus
    source_path: str | None = None
    papers_fetched: int = 0
    papers_new: int = 0
    subscribers_matched: int = 0
    emails_queued: int = 0
    error: str | None = None

    def outcome(self) -> dict[str, object]:
        """The columns of the run's row this report fills in."""
        fields = asdict(self)
        del fields["run_id"], fields["day"]
        return fields


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    error: str | None = None  # why sending stopped early, e.g. the SMTP server is unreachable


def document(paper: Paper) -> Document:
    return Document(paper.id, paper.title, paper.abstract, paper.upvotes, tuple(paper.authors))


async def run_day(
    day: dt.date, *, db: Database, source: Source, clock: Clock = utcnow
) -> RunReport:
    """Fetch ``day``'s listing, store it, and queue each subscriber's new matches.

    Papers, ledger and outbox are written in one transaction: a failure half-way
    leaves none of them. Every run leaves a ``runs`` row, failed ones included.
    """
    async with db.transaction() as session:
        run = await runs.start(session, day, clock())
    try:
        listing = await source.fetch_day(day)
        report = await _store_and_enqueue(listing, run.id, db=db, clock=clock)
    except DigestError as exc:
        report = RunReport(run_id=run.id, day=day, status=RunStatus.FAILED, error=str(exc))
    async with db.transaction() as session:
        await runs.finish(session, run.id, clock(), **report.outcome())
    log.info("run %s for %s: %s", run.id, day, report.status)
    return report


async def _store_and_enqueue(
    listing: Listing, run_id: int, *, db: Database, clock: Clock
) -> RunReport:
    if not listing.records:
        return RunReport(run_id, listing.day, RunStatus.NO_LISTING, source_path=listing.path)
    now = clock()
    async with db.transaction() as session:
        new_ids = await papers.upsert_papers(session, listing.records, listing.path, now)
        listed = await papers.papers_by_id(session, [r.arxiv_id for r in listing.records])
        queries = await subscribers.active_queries(session)
        matches = Matcher(queries).match(document(paper) for paper in listed)
        given = await deliveries.already_delivered(
            session, matches.keys(), {m.paper_id for found in matches.values() for m in found}
        )
        fresh = {
            subscriber_id: [m for m in found if (subscriber_id, m.paper_id) not in given]
            for subscriber_id, found in matches.items()
        }
        fresh = {subscriber_id: found for subscriber_id, found in fresh.items() if found}
        queued = set()
        for subscriber_id, found in fresh.items():
            queued.add(await deliveries.enqueue(session, subscriber_id, found, run_id, now))
    return RunReport(
        run_id=run_id,
        day=listing.day,
        status=RunStatus.SENT if queued else RunStatus.NOTHING_NEW,
        source_path=listing.path,
        papers_fetched=len(listing.records),
        papers_new=len(new_ids),
        subscribers_matched=len(fresh),
        emails_queued=len(queued),
    )


async def send_pending(
    *, db: Database, mailer: Mailer, composer: EmailComposer, clock: Clock = utcnow
) -> SendReport:
    """Send every due delivery once; ``sent`` is recorded only after the server accepted it."""
    outcomes = {"sent": 0, "retry": 0, "failed": 0}
    try:
        async with mailer:
            while True:
                async with db.transaction() as session:
                    batch = await deliveries.claim_due(session, clock(), CLAIM_BATCH)
                if not batch:
                    break
                for delivery in batch:
                    outcomes[await _send_one(delivery, db, mailer, composer, clock)] += 1
    except MailError as exc:  # the connection itself failed: what was not sent stays queued
        log.warning("sending stopped: %s", exc)
        return SendReport(outcomes["sent"], outcomes["retry"], outcomes["failed"], error=str(exc))
    return SendReport(outcomes["sent"], outcomes["retry"], outcomes["failed"])


async def _send_one(
    delivery: Delivery, db: Database, mailer: Mailer, composer: EmailComposer, clock: Clock
) -> str:
    message = composer.digest(delivery)
    try:
        await mailer.send(message)
    except MailError as exc:
        async with db.transaction() as session:
            if exc.permanent:
                await deliveries.mark_failed(session, delivery.id, str(exc), clock())
                return "failed"
            await deliveries.retry_later(session, delivery.id, str(exc), clock() + RETRY_DELAY)
            return "retry"
    async with db.transaction() as session:
        await deliveries.mark_sent(session, delivery.id, str(message["Message-ID"]), clock())
    return "sent"


@dataclass(frozen=True, slots=True)
class DailyReport:
    run: RunReport
    sending: SendReport
    seconds: float


async def run_and_send(
    day: dt.date,
    *,
    db: Database,
    source: Source,
    mailer: Mailer,
    composer: EmailComposer,
    clock: Clock = utcnow,
) -> DailyReport:
    """What ``digest run`` does: the daily run, then drain the outbox in the same process."""
    started = time.perf_counter()
    report = await run_day(day, db=db, source=source, clock=clock)
    sending = SendReport()
    if report.status is not RunStatus.FAILED:
        sending = await send_pending(db=db, mailer=mailer, composer=composer, clock=clock)
    return DailyReport(run=report, sending=sending, seconds=time.perf_counter() - started)
