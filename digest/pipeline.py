"""The daily run: fetch -> store -> match -> enqueue. digest.sender drains the outbox."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.errors import DigestError
from digest.matching import Document, Match, Matcher
from digest.models import Paper, RunStatus
from digest.sender import Sender, SendReport
from digest.sources import Listing, Source
from digest.store import deliveries, papers, runs, subscribers

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlannedEmail:
    """Whom a run writes to and with which papers: what ``digest run --dry-run`` prints."""

    email: str
    papers: tuple[tuple[str, str], ...]  # (arXiv id, title), best match first


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one daily run did; the same figures are kept in its ``runs`` row."""

    run_id: int | None  # None for a dry run, which leaves no row
    day: dt.date
    status: RunStatus
    source_path: str | None = None
    papers_fetched: int = 0
    papers_new: int = 0
    subscribers_matched: int = 0
    emails_queued: int = 0
    error: str | None = None
    note: str | None = None  # why there is no listing, when the source knows; not stored
    planned: tuple[PlannedEmail, ...] = ()  # filled by dry runs only

    def outcome(self) -> dict[str, object]:
        """The columns of the run's row this report fills in."""
        return {
            "status": self.status,
            "source_path": self.source_path,
            "papers_fetched": self.papers_fetched,
            "papers_new": self.papers_new,
            "subscribers_matched": self.subscribers_matched,
            "emails_queued": self.emails_queued,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class FetchReport:
    """A day's listing as fetched, and which of its papers were not stored before."""

    listing: Listing
    new_ids: frozenset[str]


def document(paper: Paper) -> Document:
    return Document(paper.id, paper.title, paper.abstract, paper.upvotes, tuple(paper.authors))


async def run_day(
    day: dt.date,
    *,
    db: Database,
    source: Source,
    clock: Clock = utcnow,
    dry_run: bool = False,
) -> RunReport:
    """Fetch ``day``'s listing, store it, and queue each subscriber's new matches.

    Papers, ledger and outbox are written in one transaction: a failure half-way
    leaves none of them. Every run leaves a ``runs`` row, failed ones included.
    A dry run does the same work in a transaction that is rolled back, leaves no
    row, and reports whom it would have written to with which papers.
    """
    run_id = None
    if not dry_run:
        async with db.transaction() as session:
            run_id = (await runs.start(session, day, clock())).id
    try:
        listing = await source.fetch_day(day)
        report = await _store_and_enqueue(listing, run_id, db=db, clock=clock, dry_run=dry_run)
    except (DigestError, SQLAlchemyError) as exc:
        report = RunReport(run_id, day, RunStatus.FAILED, error=_one_line(exc))
    if run_id is not None:
        async with db.transaction() as session:
            await runs.finish(session, run_id, clock(), **report.outcome())
    log.info("run %s for %s: %s", run_id or "(dry run)", day, report.status)
    return report


async def fetch_and_store(
    day: dt.date, *, db: Database, source: Source, clock: Clock = utcnow
) -> FetchReport:
    """Fetch ``day``'s listing and store its papers, nothing else (``digest fetch``)."""
    listing = await source.fetch_day(day)
    async with db.transaction() as session:
        new_ids = await papers.upsert_papers(session, listing.records, listing.path, clock())
    return FetchReport(listing, frozenset(new_ids))


async def days_to_catch_up(first: dt.date, last: dt.date, *, db: Database) -> list[dt.date]:
    """The days from ``first`` to ``last``, in order, that have no successful run yet."""
    async with db.transaction() as session:
        done = await runs.days_with_success(session, first, last)
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day not in done]


async def _store_and_enqueue(
    listing: Listing, run_id: int | None, *, db: Database, clock: Clock, dry_run: bool
) -> RunReport:
    if not listing.records:
        return RunReport(
            run_id, listing.day, RunStatus.NO_LISTING, source_path=listing.path, note=listing.note
        )
    now = clock()
    async with db.transaction(rollback=dry_run) as session:
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
        planned = await _plan(session, fresh, listed) if dry_run else ()
    return RunReport(
        run_id=run_id,
        day=listing.day,
        status=RunStatus.SENT if queued else RunStatus.NOTHING_NEW,
        source_path=listing.path,
        papers_fetched=len(listing.records),
        papers_new=len(new_ids),
        subscribers_matched=len(fresh),
        emails_queued=len(queued),
        planned=planned,
    )


async def _plan(
    session: AsyncSession, fresh: dict[int, list[Match]], listed: list[Paper]
) -> tuple[PlannedEmail, ...]:
    emails = await subscribers.emails_by_id(session, list(fresh))
    titles = {paper.id: paper.title for paper in listed}
    return tuple(
        PlannedEmail(
            emails[subscriber_id],
            tuple(
                (m.paper_id, titles[m.paper_id])
                for m in sorted(found, key=lambda m: (-m.score, m.paper_id))
            ),
        )
        for subscriber_id, found in sorted(fresh.items(), key=lambda item: emails[item[0]])
    )


def _one_line(exc: Exception) -> str:
    """A failure as one line; SQLAlchemy's messages carry the statement on later lines."""
    if isinstance(exc, SQLAlchemyError):
        original = getattr(exc, "orig", None) or exc
        lines = str(original).strip().splitlines()
        return f"database failure: {lines[0] if lines else type(original).__name__}"
    return " ".join(str(exc).split())


@dataclass(frozen=True, slots=True)
class DailyReport:
    runs: tuple[RunReport, ...]
    sending: SendReport | None  # None when the outbox was not drained (a dry run, all failed)
    seconds: float

    @property
    def failed(self) -> bool:
        return any(run.status is RunStatus.FAILED for run in self.runs)


def _ignore(report: RunReport) -> None:
    return None


async def run_and_send(
    days: Sequence[dt.date],
    *,
    db: Database,
    source: Source,
    sender: Sender | None,
    clock: Clock = utcnow,
    dry_run: bool = False,
    on_run: Callable[[RunReport], None] = _ignore,
) -> DailyReport:
    """What ``digest run`` does: run each day in order, then drain the outbox once.

    Days caught up together make one email per subscriber (``deliveries.enqueue``
    adds to a delivery not tried yet). A dry run sends nothing, and neither does a
    run without ``sender`` (``--enqueue-only`` leaves sending to workers). ``on_run``
    hears about each day as soon as it is done.
    """
    started = time.perf_counter()
    reports = []
    for day in days:
        report = await run_day(day, db=db, source=source, clock=clock, dry_run=dry_run)
        on_run(report)
        reports.append(report)
    sending = None
    ran = any(report.status is not RunStatus.FAILED for report in reports)
    if sender is not None and not dry_run and ran:
        sending = await sender.drain_once()
    return DailyReport(tuple(reports), sending, time.perf_counter() - started)
