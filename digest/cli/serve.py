"""``digest serve``: the web pages, the daily job and the sender in one process."""

from __future__ import annotations

import click

from digest import service
from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._options import listen_options
from digest.web.server import bind


@click.command()
@listen_options
def serve(host: str | None, port: int | None) -> None:
    """Run the service: the web pages, the daily job and the sending, until stopped.

    The daily job runs at DIGEST_SCHEDULE in DIGEST_TIMEZONE, and once at start-up:
    each time it runs every day up to yesterday (at most DIGEST_CATCH_UP_DAYS back)
    that has no successful run yet, so a stop of a few days is caught up with one
    email per subscriber. Digests are sent as they fall due (weekly ones on
    DIGEST_WEEKLY_DAY). /healthz and /metrics report on it.

    SIGTERM or Ctrl-C stops it: requests and the messages being sent finish, the
    rest waits in the outbox, exit code 0. On PostgreSQL several can run (the daily
    job runs in one at a time); on SQLite run one.

    \b
    Example:
      digest serve --host 0.0.0.0 --port 8000
    """

    async def work(app: App) -> None:
        settings = app.settings
        sock = bind(host or settings.web_host, port or settings.web_port)
        try:
            await app.prepare_database()
            await service.serve(app, sock)
        finally:
            sock.close()

    run_with_app(work, prepare_database=False)
