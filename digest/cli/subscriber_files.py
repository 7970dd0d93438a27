"""``digest subscribers import FILE.csv`` and ``digest subscribers export [FILE]``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import click

from digest import importer, subscriber_file, subscriptions
from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._output import progress
from digest.errors import InputError
from digest.models import SubscriberStatus
from digest.subscriber_file import Entry
from digest.wording import count


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows even if some are bad.")
@click.option("--dry-run", is_flag=True, help="Check and count the changes; change nothing.")
def import_(file: BinaryIO, skip_invalid: bool, dry_run: bool) -> None:
    """Add or update subscribers from a CSV file (FILE "-" reads stdin).

    The header row names the columns: email, queries (separated by ";"), and
    optionally status (default active) and cadence (default daily). Every row is
    checked first; if any is bad, each is reported as FILE:LINE: reason and nothing
    is imported, unless --skip-invalid. A known address takes the row's queries,
    status and cadence; an address that unsubscribed stays unsubscribed. Importing
    the same file again changes nothing.

    \b
    Example:
      printf 'email,queries,cadence\\nada@example.org,LLM; "sparse attention",weekly\\n' > new.csv
      digest subscribers import new.csv --dry-run
      digest subscribers import new.csv
    """
    given = getattr(file, "name", "-")
    name = "<stdin>" if given in ("-", "<stdin>") else str(given)
    data = file.read()
    with progress("Checking rows", subscriber_file.count_rows(data)) as advance:
        try:
            checked = subscriber_file.read_csv(data, advance=advance)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    for problem in checked.problems:
        click.echo(f"{name}:{problem.line}: {problem.reason}", err=True)
    bad, good = len(checked.problems), len(checked.entries)
    if bad and not skip_invalid:
        fix = f"fix {'it' if bad == 1 else 'them'}"
        hint = f"{fix}, or pass --skip-invalid to import the other {good}" if good else fix
        raise InputError(
            f"{bad} of {count(checked.rows, 'row')} in {name} "
            f"{'is' if bad == 1 else 'are'} invalid; nothing imported ({hint})"
        )

    async def work(app: App) -> importer.ImportReport:
        with progress("Importing", good) as advance:
            return await importer.import_entries(
                app.db, checked.entries, clock=app.clock, dry_run=dry_run, advance=advance
            )

    report = run_with_app(work)
    counts = (
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.kept_unsubscribed} kept unsubscribed"
    )
    skipped = f", {bad} invalid skipped" if bad else ""
    verb = "would import (dry run, nothing changed)" if dry_run else "imported"
    click.echo(f"{verb} {name}: {count(checked.rows, 'row')}: {counts}{skipped}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "json"]),
    help="The file format (default: from FILE's extension, else csv).",
)
@click.option(
    "--status",
    "statuses",
    type=click.Choice([status.value for status in SubscriberStatus], case_sensitive=False),
    multiple=True,
    help="Only subscribers with this status; repeat for several.",
)
def export(file: Path | None, format_: str | None, statuses: tuple[str, ...]) -> None:
    """Write every subscriber (email, queries, status, cadence) to FILE or stdout.

    The CSV is the format `digest subscribers import` reads, so an export imports
    back to the same subscribers. FILE is written whole or not at all.

    \b
    Example:
      digest subscribers export backup.csv
      digest subscribers export --format json | jq length
    """
    to_stdout = file is None or str(file) == "-"
    if file is not None and not to_stdout and not file.parent.is_dir():
        raise InputError(f"cannot write {file}: no folder {file.parent}")
    chosen = format_ or ("json" if not to_stdout and str(file).endswith(".json") else "csv")

    async def work(app: App) -> list[Entry]:
        found = await subscriptions.list_subscribers(
            app.db, statuses=[SubscriberStatus(status) for status in statuses]
        )
        return [Entry(s.email, s.queries, s.status, s.cadence) for s in found]

    entries = run_with_app(work)
    if chosen == "csv":
        for clash in subscriber_file.separator_clashes(entries):
            click.echo(
                f"digest: warning: {clash} contains {subscriber_file.QUERY_SEPARATOR!r} "
                "and will read back from CSV as several queries",
                err=True,
            )
    text = (subscriber_file.write_csv if chosen == "csv" else subscriber_file.write_json)(entries)
    if to_stdout:
        click.echo(text, nl=False)
        return
    assert file is not None
    _write_whole(file, text)
    click.echo(f"exported {count(len(entries), 'subscriber')} to {file}")


def _write_whole(path: Path, text: str) -> None:
    """Write under a temporary name and rename, so a failure never leaves half a file."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


COMMANDS = (import_, export)
