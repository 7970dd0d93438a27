"""The daily run: fetch -> store -> match -> enqueue. digest.sender drains the outbox."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.errors import DigestError
from digest.matching import Document, Matcher
from digest.models import Paper, RunStatus
from digest.sender import Sender, SendReport
from digest.sources import Listing, Source
from digest.store import deliveries, papers, runs, subscribers

log = logging.getLogger(__name__)


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


def document(paper: Paper) -> Document:
    return Document(id=paper.id, title=paper.title, abstract=paper.abstract, upvotes=paper.upvotes)


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
    sender: Sender | None,
    clock: Clock = utcnow,
) -> DailyReport:
    """What ``digest run`` does: the daily run, then drain the outbox in the same process
    (unless ``sender`` is None: ``--enqueue-only`` leaves sending to workers)."""
    started = time.perf_counter()
    report = await run_day(day, db=db, source=source, clock=clock)
    sending = SendReport()
    if report.status is not RunStatus.FAILED and sender is not None:
        sending = await sender.drain_once()
    return DailyReport(run=report, sending=sending, seconds=time.perf_counter() - started)
