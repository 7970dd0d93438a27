"""Queries on the papers table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Paper
from digest.sources import PaperRecord
from digest.store._dialect import insert

# Fields a later listing may change; everything else stays as first seen.
_REFRESHED_FIELDS = (
    "upvotes",
    "num_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "thumbnail_url",
)


def _row(record: PaperRecord, source: str, now: dt.datetime) -> dict[str, object]:
    row = asdict(record)
    row["id"] = row.pop("arxiv_id")
    row["authors"] = list(record.authors)
    row["ai_keywords"] = list(record.ai_keywords)
    return row | {"source": source, "first_seen_at": now, "updated_at": now}


async def upsert_papers(
    session: AsyncSession, records: Sequence[PaperRecord], source: str, now: dt.datetime
) -> set[str]:
    """Insert the papers not stored yet and refresh the counts of the others.

    Returns the ids of the papers that were new. A paper already stored keeps its
    listing day and first-seen time, so a re-fetch never makes it new again.
    """
    if not records:
        return set()
    rows = [_row(record, source, now) for record in records]
    inserted = await session.scalars(
        insert(session, Paper)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Paper.id)
    )
    new_ids = set(inserted)
    refreshed = [
        {"id": row["id"], "updated_at": now} | {key: row[key] for key in _REFRESHED_FIELDS}
        for row in rows
        if row["id"] not in new_ids
    ]
    if refreshed:
        await session.execute(update(Paper), refreshed)
    return new_ids


async def papers_by_id(session: AsyncSession, ids: Sequence[str]) -> list[Paper]:
    """The stored papers with these ids, in no particular order."""
    if not ids:
        return []
    return list(await session.scalars(select(Paper).where(Paper.id.in_(ids))))


async def papers_listed_on(session: AsyncSession, day: dt.date) -> list[Paper]:
    """The stored papers first listed on ``day``."""
    return list(await session.scalars(select(Paper).where(Paper.listed_on == day)))
