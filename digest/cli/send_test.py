"""``digest send-test EMAIL``: check the mail set-up with a sample digest."""

from __future__ import annotations

import click

from digest import sample_digest, subscriptions
from digest.app import App
from digest.cli._context import run_with_app, settings


@click.command("send-test")
@click.argument("email")
def send_test(email: str) -> None:
    """Send a sample digest to EMAIL through the configured mailer; records nothing.

    The sample shows the latest stored papers, or three built-in ones when none are
    stored. It goes over SMTP when DIGEST_SMTP_HOST is set, otherwise it is written
    as an .eml file to DIGEST_OUTBOX_DIR. EMAIL need not be a subscriber.

    \b
    Example:
      DIGEST_SMTP_HOST=smtp.example.org digest send-test ada@example.org
    """
    address = subscriptions.normalise_email(email)

    async def work(app: App) -> sample_digest.SampleSent:
        return await sample_digest.send_sample(
            address, db=app.db, send=app.send_message, composer=app.composer, clock=app.clock
        )

    sent = run_with_app(work)
    config = settings()
    where = (
        f"via SMTP {config.smtp_host}:{config.effective_smtp_port}"
        if config.smtp_host
        else f"as an .eml file in {config.outbox_dir}/"
    )
    what = (
        f"{sent.papers} stored papers listed on {sent.listed_on}"
        if sent.listed_on
        else f"{sent.papers} built-in sample papers (no papers are stored yet)"
    )
    whose = "their queries" if sent.subscriber else "sample queries (not a subscriber)"
    click.echo(f"sent a sample digest to {sent.recipient} {where}: {what}, {whose}")
