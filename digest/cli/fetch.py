"""``digest fetch``: fetch and store a day's listing, nothing else, and show it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

import click

from digest import pipeline
from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._options import day_option
from digest.cli._output import emit_rows
from digest.clock import yesterday
from digest.pipeline import FetchReport
from digest.sources import PaperRecord
from digest.wording import count


@click.command()
@day_option("The listing day to fetch (default: yesterday, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every field.")
def fetch(day: dt.datetime | None, as_json: bool) -> None:
    """Fetch a day's listing and store its papers, without matching or sending.

    Prints the papers, most upvoted first; papers not stored before are marked
    new. A re-fetch refreshes upvotes and comments of known papers. No run is
    recorded and nobody is sent anything. Exit code 1 when the listing cannot
    be fetched or understood.

    \b
    Example:
      digest fetch --date 2026-06-12
    """

    async def work(app: App) -> FetchReport:
        target = day.date() if day else yesterday(app.clock)
        async with app.source() as source:
            return await pipeline.fetch_and_store(target, db=app.db, source=source, clock=app.clock)

    report = run_with_app(work)
    listing = report.listing
    records = sorted(listing.records, key=lambda r: (-r.upvotes, r.arxiv_id))
    if as_json:
        document = {
            "day": listing.day.isoformat(),
            "source_path": listing.path,
            "note": listing.note,
            "papers": [_as_json(record, record.arxiv_id in report.new_ids) for record in records],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    # The summary goes to stderr, so a pipe gets only the rows.
    if records:
        summary = (
            f"{count(len(records), 'paper')} listed, {len(report.new_ids)} new ({listing.path})"
        )
    else:
        note = f"; {listing.note}" if listing.note else ""
        summary = f"no papers are listed for {listing.day:%a %d %b %Y} ({listing.path}){note}"
    click.echo(f"{listing.day}: {summary}", err=True)
    rows = [
        {
            "new": "new" if record.arxiv_id in report.new_ids else "",
            "id": record.arxiv_id,
            "upvotes": record.upvotes,
            "comments": record.num_comments,
            "title": record.title,
        }
        for record in records
    ]
    emit_rows(["new", "id", "upvotes", "comments", "title"], rows, as_json=False)


def _as_json(record: PaperRecord, new: bool) -> dict[str, Any]:
    fields = asdict(record)
    fields["listed_on"] = record.listed_on.isoformat()
    fields["published_at"] = record.published_at.isoformat() if record.published_at else None
    fields["authors"] = list(record.authors)
    fields["ai_keywords"] = list(record.ai_keywords)
    return {"new": new, **fields}
