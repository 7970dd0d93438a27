"""``digest subscribers pause | resume | set-cadence | set-queries | add-query | remove-query``.

Each changes one subscriber and says what it did, or that nothing needed to
change (exit code 0 both ways, so a script can repeat it safely).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from digest import subscriptions
from digest.app import App
from digest.cli._context import run_with_app
from digest.models import Cadence

Edit = Callable[[App], Awaitable[subscriptions.Change]]


def _apply(edit: Edit, done: str, already: str) -> None:
    change = run_with_app(edit)
    subscriber = change.subscriber
    template = done if change.changed else already
    click.echo(
        template.format(
            email=subscriber.email,
            status=subscriber.status,
            cadence=subscriber.cadence,
            queries="; ".join(query.text for query in subscriber.queries),
        )
    )


@click.command()
@click.argument("email")
def pause(email: str) -> None:
    """Stop sending digests to an active subscriber until they are resumed.

    \b
    Example:
      digest subscribers pause ada@example.org
    """
    address = subscriptions.normalise_email(email)

    async def edit(app: App) -> subscriptions.Change:
        return await subscriptions.pause_subscriber(app.db, address, clock=app.clock)

    _apply(edit, "paused {email}", "{email} is already paused")


@click.command()
@click.argument("email")
def resume(email: str) -> None:
    """Make a paused or bounced subscriber active again (a bounced one's count restarts).

    Someone who unsubscribed or never confirmed is not resumed: they subscribe again
    themselves.

    \b
    Example:
      digest subscribers resume ada@example.org
    """
    address = subscriptions.normalise_email(email)

    async def edit(app: App) -> subscriptions.Change:
        return await subscriptions.resume_subscriber(app.db, address, clock=app.clock)

    _apply(edit, "resumed {email}", "{email} is already active")


@click.command("set-cadence")
@click.argument("email")
@click.argument(
    "cadence",
    type=click.Choice([c.value for c in Cadence], case_sensitive=False),
    metavar="CADENCE",
)
def set_cadence(email: str, cadence: str) -> None:
    """Send a subscriber's digest daily or weekly.

    \b
    Example:
      digest subscribers set-cadence ada@example.org weekly
    """
    address = subscriptions.normalise_email(email)

    async def edit(app: App) -> subscriptions.Change:
        return await subscriptions.set_cadence(app.db, address, Cadence(cadence.lower()))

    _apply(edit, "{email} now gets a {cadence} digest", "{email} already gets a {cadence} digest")


@click.command("set-queries")
@click.argument("email")
@click.argument("queries", nargs=-1, required=True)
def set_queries(email: str, queries: tuple[str, ...]) -> None:
    """Replace all of a subscriber's queries with QUERIES (one argument each).

    \b
    Example:
      digest subscribers set-queries ada@example.org '"speculative decoding"' 'diffusion model'
    """
    address = subscriptions.normalise_email(email)
    subscriptions.check_queries(queries)

    async def edit(app: App) -> subscriptions.Change:
        return await subscriptions.set_queries(app.db, address, queries, clock=app.clock)

    _apply(edit, "{email} now has the queries: {queries}", "{email} already has these queries")


@click.command("add-query")
@click.argument("email")
@click.argument("query")
def add_query(email: str, query: str) -> None:
    """Give a subscriber one more query.

    \b
    Example:
      digest subscribers add-query ada@example.org '"mixture of experts"'
    """
    address = subscriptions.normalise_email(email)

    async def edit(app: App) -> subscriptions.Change:
        return await subscriptions.add_query(app.db, address, query, clock=app.clock)

    _apply(edit, "{email} now has the queries: {queries}", "{email} already has that query")


@click.command("remove-query")
@click.argument("email")
@click.argument("query")
def remove_query(email: str, query: str) -> None:
    """Take one query away from a subscriber (not their last one).

    The query is found by its exact text, or else by its text ignoring case.

    \b
    Example:
      digest subscribers remove-query ada@example.org LLM
    """
    address = subscriptions.normalise_email(email)

    async def edit(app: App) -> subscriptions.Change:
        return await subscriptions.remove_query(app.db, address, query, clock=app.clock)

    _apply(edit, "{email} now has the queries: {queries}", "")


COMMANDS = (pause, resume, set_cadence, set_queries, add_query, remove_query)
