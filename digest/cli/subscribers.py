"""``digest subscribers``: add, list, show and remove subscribers.

Changing one subscriber lives in ``subscriber_edits``, files in ``subscriber_files``;
both are attached to this group at the bottom.
"""

from __future__ import annotations

from typing import Any

import click

from digest import subscriptions
from digest.app import App
from digest.cli import subscriber_edits, subscriber_files
from digest.cli._context import run_with_app
from digest.cli._output import confirm, emit_record, emit_rows
from digest.models import Cadence, Subscriber, SubscriberStatus
from digest.store import reports
from digest.store.subscribers import Listed
from digest.wording import count

STATUSES = click.Choice([status.value for status in SubscriberStatus], case_sensitive=False)
CADENCES = click.Choice([cadence.value for cadence in Cadence], case_sensitive=False)
LIST_COLUMNS = ["email", "status", "cadence", "queries", "created_at"]


@click.group()
def subscribers() -> None:
    """Manage subscribers and their keyword queries.

    \b
    Example:
      digest subscribers add ada@example.org -k "speculative decoding"
      digest subscribers list --status active --query decoding
    """


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
@click.option(
    "--cadence", type=CADENCES, default="daily", show_default=True, help="How often to send."
)
def add(email: str, queries: tuple[str, ...], cadence: str) -> None:
    """Add an active subscriber (no confirmation email) with one or more queries.

    \b
    Example:
      digest subscribers add ada@example.org -k "speculative decoding" -k LLM --cadence weekly
    """
    # Bad input is refused before the database is opened.
    address = subscriptions.normalise_email(email)
    subscriptions.check_queries(queries)

    async def work(app: App) -> Subscriber:
        return await subscriptions.add_subscriber(
            app.db, address, queries, cadence=Cadence(cadence), clock=app.clock
        )

    subscriber = run_with_app(work)
    click.echo(
        f"added {subscriber.email} with {count(len(subscriber.queries), 'query', 'queries')}"
    )


@subscribers.command("list")
@click.option(
    "--status",
    "statuses",
    type=STATUSES,
    multiple=True,
    help="Only subscribers with this status; repeat for several.",
)
@click.option(
    "--query", "query", metavar="TEXT", help="Only subscribers with a query containing TEXT."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def list_(statuses: tuple[str, ...], query: str | None, as_json: bool) -> None:
    """List subscribers with their status, cadence and queries, oldest first.

    A table on a terminal; in a pipe, one tab-separated line per subscriber with the
    columns email, status, cadence, queries (separated by "; ") and created_at.

    \b
    Example:
      digest subscribers list --status paused --query diffusion
      digest subscribers list --json | jq -r '.[].email'
    """

    async def work(app: App) -> list[Listed]:
        return await subscriptions.list_subscribers(
            app.db,
            statuses=[SubscriberStatus(status) for status in statuses],
            query_contains=query,
        )

    rows = [
        {
            "email": s.email,
            "status": s.status,
            "cadence": s.cadence,
            "queries": list(s.queries),
            "created_at": s.created_at,
        }
        for s in run_with_app(work)
    ]
    emit_rows(LIST_COLUMNS, rows, as_json=as_json)


@subscribers.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def show(email: str, as_json: bool) -> None:
    """Show one subscriber: status, queries, dates and what they have been sent.

    \b
    Example:
      digest subscribers show ada@example.org
    """
    address = subscriptions.normalise_email(email)

    async def work(app: App) -> dict[str, Any]:
        subscriber = await subscriptions.get_subscriber(app.db, address)
        async with app.db.transaction() as session:
            history = await reports.subscriber_history(session, subscriber.id)
        return {
            "email": subscriber.email,
            "status": subscriber.status,
            "cadence": subscriber.cadence,
            "queries": [query.text for query in subscriber.queries],
            "created_at": subscriber.created_at,
            "confirmed_at": subscriber.confirmed_at,
            "unsubscribed_at": subscriber.unsubscribed_at,
            "bounce_count": subscriber.bounce_count,
            "deliveries": {status.value: count for status, count in history.deliveries.items()},
            "papers_sent": history.papers_sent,
            "last_sent_at": history.last_sent_at,
        }

    emit_record(run_with_app(work), as_json=as_json)


@subscribers.command()
@click.argument("email")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(email: str, yes: bool) -> None:
    """Delete a subscriber, their queries and their delivery history.

    Asks for confirmation on a terminal; without one (a script, a pipe) it
    refuses unless --yes is given.

    \b
    Example:
      digest subscribers remove ada@example.org --yes
    """
    address = subscriptions.normalise_email(email)

    async def look_up(app: App) -> Subscriber:
        return await subscriptions.get_subscriber(app.db, address)

    subscriber = run_with_app(look_up)  # an unknown address is refused before asking
    confirm(
        f"Remove {address}, their {count(len(subscriber.queries), 'query', 'queries')} "
        "and their delivery history?",
        assume_yes=yes,
        refusal=f"not removing {address}",
    )

    async def delete(app: App) -> None:
        await subscriptions.remove_subscriber(app.db, address)

    run_with_app(delete)
    click.echo(f"removed {address}")


for command in (*subscriber_edits.COMMANDS, *subscriber_files.COMMANDS):
    subscribers.add_command(command)
