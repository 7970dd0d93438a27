"""``digest subscribers``: add, list and remove subscribers."""

from __future__ import annotations

import click

from digest import subscriptions
from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._output import emit_rows
from digest.models import Subscriber


@click.group()
def subscribers() -> None:
    """Manage subscribers and their keyword queries."""


@subscribers.command()
@click.argument("email")
@click.option(
    "-k",
    "--query",
    "queries",
    multiple=True,
    metavar="QUERY",
    help="A keyword query; repeat for several.",
)
def add(email: str, queries: tuple[str, ...]) -> None:
    """Add an active subscriber (no confirmation email) with one or more queries.

    \b
    Example:
      digest subscribers add ada@example.org -k "speculative decoding" -k LLM
    """
    # Bad input is refused before the database is opened.
    address = subscriptions.normalise_email(email)
    subscriptions.check_queries(queries)

    async def work(app: App) -> Subscriber:
        return await subscriptions.add_subscriber(app.db, address, queries, clock=app.clock)

    subscriber = run_with_app(work)
    click.echo(f"added {subscriber.email} with {len(subscriber.queries)} queries")


@subscribers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def list_(as_json: bool) -> None:
    """List every subscriber with their status and queries.

    \b
    Example:
      digest subscribers list --json
    """

    async def work(app: App) -> list[Subscriber]:
        return await subscriptions.list_subscribers(app.db)

    rows = [
        {
            "email": s.email,
            "status": s.status.value,
            "cadence": s.cadence.value,
            "queries": [q.text for q in s.queries],
            "created_at": s.created_at.isoformat(timespec="seconds"),
        }
        for s in run_with_app(work)
    ]
    emit_rows(["email", "status", "cadence", "queries", "created_at"], rows, as_json=as_json)


@subscribers.command()
@click.argument("email")
def remove(email: str) -> None:
    """Delete a subscriber, their queries and their delivery history.

    \b
    Example:
      digest subscribers remove ada@example.org
    """
    address = subscriptions.normalise_email(email)

    async def work(app: App) -> None:
        await subscriptions.remove_subscriber(app.db, address)

    run_with_app(work)
    click.echo(f"removed {address}")
