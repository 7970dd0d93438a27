"""``digest stats``: the state of the service at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._output import emit_json, emit_rows, stdout_is_terminal
from digest.store import reports

WINDOWS = {"1d": 1, "7d": 7, "30d": 30}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def stats(as_json: bool) -> None:
    """Subscribers by status, emails sent and failed in the last 1, 7 and 30 days,
    and the last run.

    In a pipe, one "name<TAB>value" line per figure (e.g. "emails.7d.sent<TAB>12").

    \b
    Example:
      digest stats
      digest stats --json | jq .emails
    """

    async def work(app: App) -> dict[str, Any]:
        now = app.clock()
        windows = {name: now - dt.timedelta(days=days) for name, days in WINDOWS.items()}
        async with app.db.transaction() as session:
            subscribers = await reports.subscriber_counts(session)
            emails = await reports.email_counts(session, windows)
            run = await reports.last_run(session)
        return {
            "subscribers": {status.value: count for status, count in subscribers.items()}
            | {"total": sum(subscribers.values())},
            "emails": {
                name: {"sent": counts.sent, "failed": counts.failed}
                for name, counts in emails.items()
            },
            "last_run": None
            if run is None
            else {
                "id": run.id,
                "day": run.day,
                "status": run.status,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "error": run.error,
            },
        }

    figures = run_with_app(work)
    if as_json:
        emit_json(figures)
    elif stdout_is_terminal():
        _tables(figures)
    else:
        for name, value in _flatten(figures):
            click.echo(f"{name}\t{'' if value is None else _plain(value)}")


def _flatten(document: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = []
    for key, value in document.items():
        if isinstance(value, dict):
            lines.extend(_flatten(value, f"{prefix}{key}."))
        else:
            lines.append((f"{prefix}{key}", value))
    return lines


def _plain(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _tables(figures: dict[str, Any]) -> None:
    counts = figures["subscribers"]
    emit_rows(list(counts), [counts], as_json=False)
    click.echo()
    emails = figures["emails"]
    emit_rows(
        ["emails", *emails],
        [
            {"emails": outcome} | {name: emails[name][outcome] for name in emails}
            for outcome in ("sent", "failed")
        ],
        as_json=False,
    )
    click.echo()
    run = figures["last_run"]
    if run is None:
        click.echo("no run yet")
        return
    finished = f"finished {_plain(run['finished_at'])}" if run["finished_at"] else "not finished"
    error = f": {run['error']}" if run["error"] else ""
    click.echo(
        f"last run: {run['day']} (run {run['id']}), {run['status']}, "
        f"started {_plain(run['started_at'])}, {finished}{error}"
    )
