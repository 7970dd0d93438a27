"""``digest deliveries``: the outbox and what was sent."""

from __future__ import annotations

import dataclasses
import datetime as dt

import click

from digest import subscriptions
from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._output import emit_rows
from digest.models import DeliveryStatus
from digest.store import reports

COLUMNS = [field.name for field in dataclasses.fields(reports.DeliveryRow)]


@click.command()
@click.option("--email", metavar="EMAIL", help="Only the deliveries to this subscriber.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in DeliveryStatus], case_sensitive=False),
    help="Only deliveries with this status.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    metavar="YYYY-MM-DD",
    help="Only deliveries created on or after this day (UTC).",
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="How many to show; 0 for all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def deliveries(
    email: str | None,
    status: str | None,
    since: dt.datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List deliveries (one email each), newest first, with their status and papers.

    \b
    Example:
      digest deliveries --status failed --since 2026-06-01
      digest deliveries --email ada@example.org --json
    """
    address = subscriptions.normalise_email(email) if email is not None else None

    async def work(app: App) -> list[reports.DeliveryRow]:
        subscriber_id = None
        if address is not None:
            subscriber_id = (await subscriptions.get_subscriber(app.db, address)).id
        async with app.db.transaction() as session:
            return await reports.deliveries(
                session,
                subscriber_id=subscriber_id,
                status=DeliveryStatus(status.lower()) if status else None,
                since=since.replace(tzinfo=dt.UTC) if since else None,
                limit=limit or None,
            )

    rows = [dataclasses.asdict(row) for row in run_with_app(work)]
    emit_rows(COLUMNS, rows, as_json=as_json, headers={"created_at": "created", "sent_at": "sent"})
