"""Hugging Face Daily Papers, parsed: pure functions from the bytes of an answer to records.

Two shapes carry the same items: the JSON API (``/api/daily_papers``, a bare
array) and the HTML page (``/papers?date=D``), which embeds them as JSON in
the ``data-props`` attribute of ``div[data-target="DailyPapers"]`` together
with the day it shows. The card markup around them has changed many times;
the embedded JSON has not, so that is what is read.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bs4 import BeautifulSoup

from digest.sources.base import ListingFormatError, PaperRecord

# Longest value each optional text column holds (see digest.models.Paper); a longer one
# is treated as missing rather than failing the whole day on PostgreSQL.
_MAX_URL = 500
_MAX_ORGANIZATION = 200
# arXiv ids: 2407.21783, 2407.21783v2, and the old form cs/0112017.
_ARXIV_ID = re.compile(r"[A-Za-z0-9.\-/]{1,32}")


@dataclass(frozen=True, slots=True)
class DailyPage:
    """What a Daily Papers page shows: the day it says it shows, and that day's papers."""

    day: dt.date
    records: list[PaperRecord]


def parse_api_items(body: bytes, day: dt.date) -> list[PaperRecord]:
    """Parse one answer of ``/api/daily_papers`` (a JSON array of items) into records."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ListingFormatError(f"the answer is not JSON ({exc})") from None
    if not isinstance(items, list):
        raise ListingFormatError(f"expected a JSON array of papers, got {type(items).__name__}")
    return [parse_item(item, day, position) for position, item in enumerate(items, start=1)]


def parse_daily_page(body: bytes) -> DailyPage:
    """Parse the HTML page ``/papers?date=D`` into the day it shows and its records.

    A day without papers does not give an error page: the site shows the latest
    listed day instead. So the caller must compare ``DailyPage.day`` with the
    day it asked for.
    """
    soup = BeautifulSoup(body, "html.parser")
    element = soup.select_one('div[data-target="DailyPapers"]')
    if element is None:
        raise ListingFormatError(
            'not a Daily Papers listing page: it has no div[data-target="DailyPapers"]'
        )
    raw = element.get("data-props")
    if not isinstance(raw, str):
        raise ListingFormatError("the DailyPapers element has no data-props")
    try:
        props = json.loads(raw)
    except ValueError as exc:
        raise ListingFormatError(f"data-props is not JSON ({exc})") from None
    if not isinstance(props, Mapping):
        raise ListingFormatError(f"data-props is {type(props).__name__}, not an object")
    day = _page_day(props.get("date"))
    items = props.get("dailyPapers")
    if not isinstance(items, list):
        raise ListingFormatError("data-props has no dailyPapers list")
    records = [parse_item(item, day, position) for position, item in enumerate(items, start=1)]
    return DailyPage(day=day, records=records)


def _page_day(value: object) -> dt.date:
    """The ``date`` prop, e.g. ``2024-08-01T00:00:00.000Z`` (or a bare ``2024-08-01``)."""
    if not isinstance(value, str):
        raise ListingFormatError("data-props does not say which day the page shows (no date)")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ListingFormatError(f"data-props has a date that is not a day: {value!r}") from None


def parse_item(item: object, day: dt.date, position: int) -> PaperRecord:
    """One listing item (``{"paper": {...}, "numComments": ..., ...}``) as a record."""
    where = f"item {position}"
    if not isinstance(item, Mapping):
        raise ListingFormatError(f"{where} is not an object")
    paper = item.get("paper")
    if not isinstance(paper, Mapping):
        raise ListingFormatError(f"{where} has no paper object")
    arxiv_id = _required_text(paper, "id", where)
    if not _ARXIV_ID.fullmatch(arxiv_id):
        raise ListingFormatError(f"{where} has a paper.id that is not an arXiv id: {arxiv_id!r}")
    stars = paper.get("githubStars")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=_clean(_required_text(paper, "title", where)),
        abstract=_clean(_optional_text(paper, "summary") or ""),
        listed_on=day,
        authors=_authors(paper.get("authors"), where),
        published_at=_timestamp(paper.get("publishedAt")),
        upvotes=_count(paper.get("upvotes")),
        num_comments=_count(item.get("numComments")),
        github_repo=_optional_text(paper, "githubRepo", _MAX_URL),
        github_stars=_count(stars) if stars is not None else None,
        project_page=_optional_text(paper, "projectPage", _MAX_URL),
        ai_summary=_optional_text(paper, "ai_summary"),
        ai_keywords=_keywords(paper.get("ai_keywords")),
        thumbnail_url=_optional_text(item, "thumbnail", _MAX_URL),
        organization=_organization(item.get("organization") or paper.get("organization")),
    )


def _text(value: object) -> str:
    """A string as stored: trimmed, without NUL characters (PostgreSQL's text refuses them)."""
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _required_text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(data.get(key))
    if not value:
        raise ListingFormatError(f"{where} has no paper.{key}")
    return value


def _optional_text(data: Mapping[str, Any], key: str, max_length: int | None = None) -> str | None:
    value = _text(data.get(key))
    if not value or (max_length is not None and len(value) > max_length):
        return None
    return value


def _clean(text: str) -> str:
    """Collapse the line breaks and runs of spaces that abstracts carry over from LaTeX."""
    return " ".join(text.split())


def _authors(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ListingFormatError(f"{where} has paper.authors that is not a list")
    names = (_text(author.get("name")) for author in value if isinstance(author, Mapping))
    return tuple(name for name in names if name)


def _keywords(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(keyword for keyword in map(_text, value) if keyword)


def _timestamp(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _organization(value: object) -> str | None:
    if isinstance(value, Mapping):
        name = _text(value.get("fullname") or value.get("name"))
        if name and len(name) <= _MAX_ORGANIZATION:
            return name
    return None
