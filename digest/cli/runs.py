"""``digest runs``: the most recent daily runs."""

from __future__ import annotations

from typing import Any

import click

from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._output import emit_rows
from digest.models import Run
from digest.store import runs as runs_store

COLUMNS = [
    "id",
    "day",
    "status",
    "started_at",
    "seconds",
    "papers_fetched",
    "papers_new",
    "subscribers_matched",
    "emails_queued",
    "error",
]
TITLES = {
    "started_at": "started",
    "papers_fetched": "fetched",
    "papers_new": "new",
    "subscribers_matched": "matched",
    "emails_queued": "queued",
}


@click.command()
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many runs to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def runs(limit: int, as_json: bool) -> None:
    """List the most recent runs, newest first: day, status, counts and error.

    \b
    Example:
      digest runs --limit 5
      digest runs --json | jq '.[] | select(.status == "failed")'
    """

    async def work(app: App) -> list[Run]:
        async with app.db.transaction() as session:
            return await runs_store.latest(session, limit)

    emit_rows(COLUMNS, [_row(run) for run in run_with_app(work)], as_json=as_json, headers=TITLES)


def _row(run: Run) -> dict[str, Any]:
    seconds = (
        round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None
    )
    return {
        "id": run.id,
        "day": run.day,
        "status": run.status,
        "started_at": run.started_at,
        "seconds": seconds,
        "papers_fetched": run.papers_fetched,
        "papers_new": run.papers_new,
        "subscribers_matched": run.subscribers_matched,
        "emails_queued": run.emails_queued,
        "error": run.error,
    }
