"""``digest run``: the daily run, a backfill of missed days, or a dry run of either."""

from __future__ import annotations

import datetime as dt
import sys

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from digest import alerts, pipeline
from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._options import DAY, day_option
from digest.clock import yesterday
from digest.errors import InputError
from digest.models import RunStatus
from digest.pipeline import DailyReport, RunReport
from digest.sender import SendReport
from digest.wording import count

MAX_BACKFILL_DAYS = 366  # a year; a longer catch-up is more likely a typo than a plan


@click.command()
@day_option("The listing day to process (default: yesterday, UTC).")
@click.option(
    "--since",
    type=DAY,
    default=None,
    metavar="YYYY-MM-DD",
    help="Catch up: run every day from this one to yesterday that has no successful run yet.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Do everything but store and send; print who would get which papers.",
)
@click.option(
    "--enqueue-only",
    is_flag=True,
    help="Queue the digests but send nothing: 'digest worker' or 'digest send' sends them.",
)
def run(
    day: dt.datetime | None, since: dt.datetime | None, dry_run: bool, enqueue_only: bool
) -> None:
    """Fetch a day's listing, store it, match it and send the digests.

    Prints one line per day and records each run in the runs table: sent,
    nothing_new (a listing, but no subscriber has a matching paper they were
    not sent before), no_listing (weekend, holiday) or failed. With --since,
    days that already have a successful run are skipped and the outbox is
    drained once at the end, so each subscriber gets one email for all of
    them. Exit code 0 when every day succeeded, 1 when one failed or the
    digests could not be sent.

    \b
    Examples:
      digest run --date 2026-06-12
      digest run --since 2026-06-01
      digest run --dry-run
      digest run --enqueue-only
    """
    if day and since:
        raise InputError("give either --date or --since, not both")

    async def work(app: App) -> tuple[DailyReport, int]:
        last = yesterday(app.clock)
        if since is None:
            days = [day.date() if day else last]
        else:
            days = await pipeline.days_to_catch_up(
                _check_since(since.date(), last), last, db=app.db
            )
        with _DayLines(len(days), bar=since is not None and sys.stderr.isatty()) as lines:

            def on_run(report: RunReport) -> None:
                _echo_run(lines, report, dry_run=dry_run)
                lines.advance()

            async with app.source() as source:
                daily = await pipeline.run_and_send(
                    days,
                    db=app.db,
                    source=source,
                    sender=None if enqueue_only or dry_run else app.sender(),
                    timetable=app.timetable,
                    clock=app.clock,
                    dry_run=dry_run,
                    on_run=on_run,
                )
        skipped = (last - since.date()).days + 1 - len(days) if since else 0
        if not dry_run:
            await alerts.alert_failed_runs(app, daily.runs)
        return daily, skipped

    daily, skipped = run_with_app(work)
    if since is not None:
        click.echo(_catch_up_line(daily, skipped))
    if dry_run:
        click.echo("dry run: nothing was stored, queued or sent")
    sending = daily.sending
    if sending is not None:
        click.echo(_sending_line(sending, daily.seconds))
        if sending.busy:
            click.echo(f"digest: {sending.busy}; the digests stay queued for it", err=True)
        if sending.error:
            click.echo(f"digest: error: sending stopped: {sending.error}", err=True)
    if daily.failed or (sending is not None and sending.error):
        raise SystemExit(1)


def _check_since(since: dt.date, last: dt.date) -> dt.date:
    if since > last:
        raise InputError(f"--since {since} is not before today: the last day to run is {last}")
    if (last - since).days + 1 > MAX_BACKFILL_DAYS:
        raise InputError(
            f"--since {since} is {(last - since).days + 1} days back; "
            f"at most {MAX_BACKFILL_DAYS} days are caught up at once"
        )
    return since


class _DayLines:
    """Prints the lines of each day, under a progress bar over the days on a terminal stderr.

    While the bar is shown, lines meant for a terminal go through its console, so they
    appear above the bar instead of through it; lines for a pipe go to the pipe as they are.
    """

    def __init__(self, total: int, *, bar: bool) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if bar:
            self._progress = Progress(
                TextColumn("catching up"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("days"),
                console=Console(stderr=True),
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task = self._progress.add_task("days", total=total)

    def __enter__(self) -> _DayLines:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def echo(self, line: str, *, err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        if self._progress is not None and stream.isatty():
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=err)

    def advance(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)


def describe_run(report: RunReport, *, dry_run: bool = False) -> str:
    """One line per day; the four statuses never read alike."""
    head = f"{report.day}: {report.status}"
    path = f" ({report.source_path})" if report.source_path else ""
    if report.status is RunStatus.FAILED:
        return f"{head}: nothing was stored or queued"
    if report.status is RunStatus.NO_LISTING:
        note = f"; {report.note}" if report.note else ""
        return f"{head}: no papers are listed for {report.day:%a %d %b %Y}{path}{note}"
    counts = f"{count(report.papers_fetched, 'paper')} fetched, {report.papers_new} new"
    if report.status is RunStatus.NOTHING_NEW:
        return (
            f"{head}: {counts}, no subscriber has a matching paper they were not sent before{path}"
        )
    queued = "would be queued" if dry_run else "queued"
    return (
        f"{head}: {counts}, {count(report.subscribers_matched, 'subscriber')} matched, "
        f"{count(report.emails_queued, 'email')} {queued}{path}"
    )


def _echo_run(lines: _DayLines, report: RunReport, *, dry_run: bool) -> None:
    lines.echo(describe_run(report, dry_run=dry_run))
    if report.status is RunStatus.FAILED:
        lines.echo(f"digest: error: {report.day}: {report.error}", err=True)
    for email in report.planned:
        lines.echo(f"  {email.email}: {count(len(email.papers), 'paper')}")
        for paper_id, title in email.papers:
            lines.echo(f"    {paper_id}  {title}")


def _sending_line(sending: SendReport, seconds: float) -> str:
    extra = "".join(
        f", {count} {what}"
        for count, what in ((sending.retried, "to retry later"), (sending.failed, "failed"))
        if count
    )
    return f"outbox: {count(sending.sent, 'email')} sent{extra} in {seconds:.1f}s"


def _catch_up_line(daily: DailyReport, skipped: int) -> str:
    if not daily.runs:
        return f"caught up: every day already has a successful run ({skipped} skipped)"
    counts: dict[str, int] = {}
    for report in daily.runs:
        counts[report.status] = counts.get(report.status, 0) + 1
    by_status = ", ".join(f"{number} {status}" for status, number in counts.items())
    days = count(len(daily.runs), "day")
    return f"caught up {days}: {by_status}; {skipped} skipped (already done)"
