"""``digest run``: the daily run."""

from __future__ import annotations

import datetime as dt

import click

from digest import pipeline
from digest.app import App
from digest.cli._context import run_with_app
from digest.clock import yesterday
from digest.models import RunStatus


@click.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="The listing day to process (default: yesterday, UTC).",
)
@click.option(
    "--enqueue-only",
    is_flag=True,
    help="Queue the digests but send nothing: 'digest worker' or 'digest send' sends them.",
)
def run(day: dt.datetime | None, enqueue_only: bool) -> None:
    """Fetch a day's listing, store it, match it and send the digests.

    Prints one summary line and records the run in the runs table. Exit code 0
    when the run succeeded (also when there was nothing new or no listing), 1
    when it failed.

    \b
    Example:
      digest run --date 2026-06-12
    """

    async def work(app: App) -> pipeline.DailyReport:
        target = day.date() if day else yesterday(app.clock)
        async with app.source() as source:
            return await pipeline.run_and_send(
                target,
                db=app.db,
                source=source,
                sender=None if enqueue_only else app.sender(),
                clock=app.clock,
            )

    daily = run_with_app(work)
    report, sending = daily.run, daily.sending
    click.echo(
        f"{report.day}: {report.status}: {report.papers_fetched} papers fetched, "
        f"{report.papers_new} new, {report.subscribers_matched} subscribers matched, "
        f"{sending.sent} emails sent in {daily.seconds:.1f}s"
    )
    if report.status is RunStatus.FAILED:
        click.echo(f"digest: error: run failed: {report.error}", err=True)
        raise SystemExit(1)
    if sending.busy:
        click.echo(f"digest: {sending.busy}; the digests stay queued for it", err=True)
    if sending.error:
        click.echo(f"digest: error: sending stopped: {sending.error}", err=True)
        raise SystemExit(1)
