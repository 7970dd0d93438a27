"""The Source protocol and the plain records every source produces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from digest.errors import SourceError


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """One paper as a listing describes it, independent of any database."""

    arxiv_id: str
    title: str
    abstract: str
    listed_on: dt.date
    authors: tuple[str, ...] = ()
    published_at: dt.datetime | None = None
    upvotes: int = 0
    num_comments: int = 0
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    organization: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """The papers listed on one day, and how they were obtained."""

    day: dt.date
    records: tuple[PaperRecord, ...]
    path: str  # "api" or "page": which way of reading the listing gave these records
    note: str | None = None  # why there are no records, when the source knows more than "none"


class ListingFormatError(SourceError):
    """The listing answered, but not in the shape we understand."""


class Source(Protocol):
    async def fetch_day(self, day: dt.date) -> Listing:
        """All papers listed on ``day``; raises SourceError when that cannot be known."""
        ...
