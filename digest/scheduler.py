"""The daily job, on APScheduler 3's AsyncIOScheduler (``digest serve``).

One job, on a ``CronTrigger`` of DIGEST_SCHEDULE in DIGEST_TIMEZONE. It only calls the
pipeline: at every firing, ``pipeline.catch_up`` runs every day up to yesterday (UTC)
that has no successful run yet, at most DIGEST_CATCH_UP_DAYS back, so a firing that was
missed, a day that failed and the days the service was down are all caught up by the
next firing, in one email per subscriber. It also runs once as soon as the scheduler
starts, which catches up the days missed while the service was stopped. Safety against
double sends comes from the ledger and the run lock, not from the scheduler.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from digest import alerts, pipeline
from digest.app import App
from digest.clock import yesterday
from digest.errors import DigestError

log = logging.getLogger(__name__)

JOB_ID = "daily"


class DailyJob:
    """What runs at each firing. ``stop`` is set when the process is stopping: no new day
    is started, and a firing that comes afterwards does nothing."""

    def __init__(self, app: App, *, send: bool = False) -> None:
        self.app = app
        self.send = send  # drain the outbox after the days (when no sender runs beside it)
        self.stop = asyncio.Event()
        self._running: asyncio.Task[object] | None = None

    async def run(self) -> None:
        if self.stop.is_set():
            return
        self._running = asyncio.current_task()
        try:
            await self._catch_up()
        except asyncio.CancelledError:
            log.warning("the daily job was cancelled while stopping; the next run goes on")
        finally:
            self._running = None

    async def _catch_up(self) -> None:
        app = self.app
        last = yesterday(app.clock)
        try:
            async with app.source() as source:
                daily = await pipeline.catch_up(
                    last,
                    window=app.settings.catch_up_days,
                    db=app.db,
                    source=source,
                    timetable=app.timetable,
                    sender=app.sender() if self.send else None,
                    clock=app.clock,
                    stop=self.stop,
                )
        except (DigestError, SQLAlchemyError, OSError) as exc:  # the database, say
            error = f"the daily job could not run: {pipeline.one_line(exc)}"
            log.error("%s", error)
            await alerts.send_alert(app, last, error)
            return
        if daily is None:
            log.info("the daily job steps aside: another process is running it on this database")
            return
        if not daily.runs:
            log.info("the daily job found every day up to %s done", last)
            return
        counts: dict[str, int] = {}
        for report in daily.runs:
            counts[report.status] = counts.get(report.status, 0) + 1
        log.info(
            "the daily job ran %d day%s up to %s: %s",
            len(daily.runs),
            "" if len(daily.runs) == 1 else "s",
            daily.runs[-1].day,
            ", ".join(f"{count} {status}" for status, count in counts.items()),
        )
        await alerts.alert_failed_runs(app, daily.runs)

    async def finish(self, grace_seconds: float) -> None:
        """Stop: no new day starts; the day being run may finish within ``grace_seconds``,
        else it is cancelled (and its run recorded as failed, interrupted)."""
        self.stop.set()
        task = self._running
        if task is None or task is asyncio.current_task():
            return
        done, _ = await asyncio.wait({task}, timeout=grace_seconds)
        if not done:
            log.warning("the daily job did not finish within %.0f s; cancelling it", grace_seconds)
            task.cancel()
            await asyncio.wait({task})


def build_scheduler(app: App, job: DailyJob, *, run_at_start: bool = True) -> AsyncIOScheduler:
    """The scheduler with the daily job, not started. With ``run_at_start`` the job's
    first run is as soon as the scheduler starts (catching up what was missed)."""
    timezone = app.timetable.timezone
    scheduler = AsyncIOScheduler(timezone=timezone)
    options: dict[str, object] = {}
    if run_at_start:
        options["next_run_time"] = dt.datetime.now(timezone)
    scheduler.add_job(
        job.run,
        app.timetable.trigger(),
        id=JOB_ID,
        name="daily run",
        # Several firings missed at once (a suspended host) make one run: each run
        # catches up every day anyway.
        coalesce=True,
        # Never two runs of the job side by side in one process; a firing that comes
        # while the previous run is still going is skipped (the next one catches up).
        max_instances=1,
        # However late a firing is, it still runs. Firings are only late inside a running
        # process (the job store is in memory; the start-up run covers a stopped one): a
        # host resuming from suspend, an event loop busy for a moment. APScheduler's
        # default of one second would then silently skip the day's run until the next
        # firing, while a late run only sends the digests late.
        misfire_grace_time=None,
        **options,
    )
    return scheduler
