"""``digest send`` and ``digest worker``: drain the outbox once, or keep draining."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from digest.app import App
from digest.cli._context import run_with_app
from digest.sender import SenderBusy, SendReport

log = logging.getLogger(__name__)


@click.command()
def send() -> None:
    """Send every digest that is due now, then stop.

    Prints one summary line. Exit code 1 when the SMTP server could not be
    reached (what was not sent stays queued) or another sender holds the SQLite
    database.

    \b
    Example:
      digest run --enqueue-only && digest send
    """

    async def work(app: App) -> SendReport:
        return await app.sender().drain_once()

    report = run_with_app(work)
    click.echo(report.summary())
    if report.busy:
        raise SenderBusy(report.busy)
    if report.error:
        click.echo(f"digest: error: sending stopped: {report.error}", err=True)
        raise SystemExit(1)


@click.command()
def worker() -> None:
    """Keep sending due digests until stopped (SIGTERM or Ctrl-C).

    Looks for due deliveries every DIGEST_WORKER_POLL_SECONDS. On SIGTERM or
    SIGINT it finishes the messages it is handing over, puts back what it had
    claimed but not started, and exits 0. On PostgreSQL run as many workers as
    you like, on any hosts; on SQLite one sender runs at a time.

    \b
    Example:
      DIGEST_DATABASE_URL=postgresql+asyncpg://digest@db/digest digest worker
    """

    async def work(app: App) -> SendReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        sender = app.sender()
        policy = sender.policy
        log.info(
            "worker %s started: %d connections, %s, polling every %.0f s",
            sender.name,
            policy.concurrency,
            f"at most {policy.rate:g} messages/s" if policy.rate else "no rate cap",
            policy.poll_seconds,
        )
        try:
            return await sender.run_forever(stop)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    report = run_with_app(work)
    click.echo(f"worker stopped: {report.summary()}")
