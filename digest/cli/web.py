"""``digest web``: serve the subscription pages."""

from __future__ import annotations

import click

from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._options import listen_options
from digest.web import create_app
from digest.web.server import bind, serve


@click.command()
@listen_options
def web(host: str | None, port: int | None) -> None:
    """Serve the web pages: subscribe, confirm, manage and unsubscribe.

    Links in emails start with DIGEST_PUBLIC_URL, so set it to the address
    people reach this server at (usually through a reverse proxy with TLS).
    Ctrl-C or SIGTERM stops it after the requests and emails in progress.

    \b
    Example:
      digest web --host 0.0.0.0 --port 8080
    """

    async def work(app: App) -> None:
        settings = app.settings
        # The port first: a busy one is reported before the database is touched.
        sock = bind(host or settings.web_host, port or settings.web_port)
        try:
            await app.prepare_database()
            await serve(create_app(app), sock, trusted_proxies=settings.web_trusted_proxies)
        finally:
            sock.close()

    run_with_app(work, prepare_database=False)
