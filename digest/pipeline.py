"""The daily run: fetch -> store -> match -> enqueue. digest.sender drains the outbox."""

from __future__ import annotations

import asyncio
import contextlib
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
from digest.run_lock import RunBusy, RunLock
from digest.sender import Sender, SendReport
from digest.sources import Listing, Source
from digest.store import deliveries, papers, runs, subscribers
from digest.timetable import Timetable
from digest.wording import count

log = logging.getLogger(__name__)

# While days are run one after another, the digests they queue are held back (due this
# much later) so that no sender, in this process or another, sends a digest before the
# last day has added its papers: one email for all the days. Released when the days are
# done; a process that dies half-way delays them by this much at most.
CATCH_UP_HOLD = dt.timedelta(hours=1)
INTERRUPTED = "interrupted: the process was stopped while this day was running"


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


class Matchers:
    """Subscribers' queries compiled once for a run of days (compiling 100,000
    subscribers takes seconds), and again only when the queries changed."""

    def __init__(self) -> None:
        self._queries: dict[int, list[str]] | None = None
        self._matcher: Matcher | None = None

    def for_queries(self, queries: dict[int, list[str]]) -> Matcher:
        if self._matcher is None or queries != self._queries:
            self._queries, self._matcher = queries, Matcher(queries)
        return self._matcher


def document(paper: Paper) -> Document:
    return Document(paper.id, paper.title, paper.abstract, paper.upvotes, tuple(paper.authors))


async def run_day(
    day: dt.date,
    *,
    db: Database,
    source: Source,
    timetable: Timetable,
    clock: Clock = utcnow,
    dry_run: bool = False,
    hold_until: dt.datetime | None = None,
    matchers: Matchers | None = None,
) -> RunReport:
    """Fetch ``day``'s listing, store it, and queue each subscriber's new matches.

    Papers, ledger and outbox are written in one transaction: a failure half-way
    leaves none of them. Every run leaves a ``runs`` row, failed ones included (a run
    cancelled by a stopping process too). Daily digests are due at ``hold_until``
    (default: at once), weekly ones on the weekly day of ``timetable``. A dry run does
    the same work in a transaction that is rolled back, leaves no row, and reports whom
    it would have written to with which papers.
    """
    run_id = None
    if not dry_run:
        async with db.transaction() as session:
            run_id = (await runs.start(session, day, clock())).id
    try:
        listing = await source.fetch_day(day)
        report = await _store_and_enqueue(
            listing,
            run_id,
            db=db,
            clock=clock,
            dry_run=dry_run,
            timetable=timetable,
            hold_until=hold_until,
            matchers=matchers or Matchers(),
        )
    except (DigestError, SQLAlchemyError) as exc:
        report = RunReport(run_id, day, RunStatus.FAILED, error=one_line(exc))
    except asyncio.CancelledError:
        if run_id is not None:
            stopped = RunReport(run_id, day, RunStatus.FAILED, error=INTERRUPTED)
            await asyncio.shield(_finish(db, stopped, clock))
        raise
    if run_id is not None:
        await _finish(db, report, clock)
    level = logging.WARNING if report.status is RunStatus.FAILED else logging.INFO
    log.log(level, "run %s for %s: %s", run_id or "(dry run)", day, _summary(report))
    return report


async def _finish(db: Database, report: RunReport, clock: Clock) -> None:
    assert report.run_id is not None
    async with db.transaction() as session:
        await runs.finish(session, report.run_id, clock(), **report.outcome())


def _summary(report: RunReport) -> str:
    if report.status in (RunStatus.FAILED, RunStatus.NO_LISTING):
        return f"{report.status}" + (f": {report.error}" if report.error else "")
    return (
        f"{report.status}: {count(report.papers_fetched, 'paper')} fetched, "
        f"{report.papers_new} new, {count(report.emails_queued, 'email')} queued "
        f"({report.source_path})"
    )


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


async def first_day_to_catch_up(last: dt.date, window: int, *, db: Database) -> dt.date:
    """Where the daily job starts looking for days without a successful run: ``window``
    days back from ``last``, but never before the first day this database ever ran (a
    new installation starts with yesterday, not with a week of old papers)."""
    async with db.transaction() as session:
        earliest = await runs.earliest_day(session)
    if earliest is None:
        return last
    return min(max(last - dt.timedelta(days=window - 1), earliest), last)


async def _store_and_enqueue(
    listing: Listing,
    run_id: int | None,
    *,
    db: Database,
    clock: Clock,
    dry_run: bool,
    timetable: Timetable,
    hold_until: dt.datetime | None,
    matchers: Matchers,
) -> RunReport:
    if not listing.records:
        return RunReport(
            run_id, listing.day, RunStatus.NO_LISTING, source_path=listing.path, note=listing.note
        )
    now = clock()
    async with db.transaction(rollback=dry_run) as session:
        new_ids = await papers.upsert_papers(session, listing.records, listing.path, now)
        listed = await papers.papers_by_id(session, [r.arxiv_id for r in listing.records])
        queries = await subscribers.collecting_queries(session)
        matches = matchers.for_queries(queries).match(document(paper) for paper in listed)
        given = await deliveries.already_delivered(
            session, matches.keys(), {m.paper_id for found in matches.values() for m in found}
        )
        fresh = {
            subscriber_id: [m for m in found if (subscriber_id, m.paper_id) not in given]
            for subscriber_id, found in matches.items()
        }
        fresh = {subscriber_id: found for subscriber_id, found in fresh.items() if found}
        weekly = await subscribers.weekly_ids(session) if fresh else set()
        daily_due, weekly_due = hold_until or now, timetable.weekly_due(now)
        queued = await deliveries.enqueue_many(
            session,
            {
                subscriber_id: deliveries.Queued(
                    found, weekly_due if subscriber_id in weekly else daily_due
                )
                for subscriber_id, found in fresh.items()
            },
            run_id,
            now,
        )
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


def one_line(exc: BaseException) -> str:
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
    timetable: Timetable,
    clock: Clock = utcnow,
    dry_run: bool = False,
    on_run: Callable[[RunReport], None] = _ignore,
) -> DailyReport:
    """What ``digest run`` does: run each day in order, then drain the outbox once.

    Days caught up together make one email per subscriber (``deliveries.enqueue_many``
    adds to a delivery not tried yet, and the digests are held until the last day is
    done). A dry run sends nothing, and neither does a run without ``sender``
    (``--enqueue-only`` leaves sending to workers). ``on_run`` hears about each day as
    soon as it is done. RunBusy when another process is running days on this database.
    """
    started = time.perf_counter()
    # A dry run writes nothing, so it neither waits for nor blocks a real run.
    lock = contextlib.nullcontext(True) if dry_run else RunLock(db).hold()
    async with lock as held:
        if not held:
            raise RunBusy(
                "another daily run is in progress on this database (digest serve or "
                "digest run); try again when it has finished"
            )
        reports = await _run_days(
            days,
            db=db,
            source=source,
            timetable=timetable,
            clock=clock,
            dry_run=dry_run,
            on_run=on_run,
        )
    sending = None if dry_run else await _drain(sender, reports)
    return DailyReport(tuple(reports), sending, time.perf_counter() - started)


async def catch_up(
    last: dt.date,
    *,
    window: int,
    db: Database,
    source: Source,
    timetable: Timetable,
    sender: Sender | None = None,
    clock: Clock = utcnow,
    on_run: Callable[[RunReport], None] = _ignore,
    stop: asyncio.Event | None = None,
) -> DailyReport | None:
    """The daily job: run every day up to ``last`` that has no successful run yet, at
    most ``window`` days back (``first_day_to_catch_up``), in order; then drain the
    outbox once when given a sender. None when another process holds the run lock: it
    is running these days. The days are chosen while holding the lock, so two processes
    never run the same day. With ``stop`` set, no further day is started.
    """
    started = time.perf_counter()
    async with RunLock(db).hold() as held:
        if not held:
            return None
        first = await first_day_to_catch_up(last, window, db=db)
        days = await days_to_catch_up(first, last, db=db)
        reports = await _run_days(
            days,
            db=db,
            source=source,
            timetable=timetable,
            clock=clock,
            on_run=on_run,
            stop=stop,
        )
    sending = None if stop is not None and stop.is_set() else await _drain(sender, reports)
    return DailyReport(tuple(reports), sending, time.perf_counter() - started)


async def _run_days(
    days: Sequence[dt.date],
    *,
    db: Database,
    source: Source,
    timetable: Timetable,
    clock: Clock,
    on_run: Callable[[RunReport], None],
    dry_run: bool = False,
    stop: asyncio.Event | None = None,
) -> list[RunReport]:
    hold_until = None if dry_run else clock() + CATCH_UP_HOLD
    matchers = Matchers()
    reports: list[RunReport] = []
    try:
        for day in days:
            if stop is not None and stop.is_set():
                log.info("stopping: %s and the days after it are left for the next run", day)
                break
            report = await run_day(
                day,
                db=db,
                source=source,
                timetable=timetable,
                clock=clock,
                dry_run=dry_run,
                hold_until=hold_until,
                matchers=matchers,
            )
            on_run(report)
            reports.append(report)
    finally:
        if hold_until is not None and reports:
            await asyncio.shield(_release(db, clock, hold_until))
    return reports


async def _release(db: Database, clock: Clock, hold_until: dt.datetime) -> None:
    async with db.transaction() as session:
        await deliveries.release_held(session, clock(), hold_until)


async def _drain(sender: Sender | None, reports: Sequence[RunReport]) -> SendReport | None:
    if sender is None or all(report.status is RunStatus.FAILED for report in reports):
        return None
    return await sender.drain_once()
