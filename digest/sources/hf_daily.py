"""Hugging Face Daily Papers: ``/api/daily_papers?date=D`` read with httpx, parsed purely."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from digest import __version__
from digest.config import Settings
from digest.errors import SourceError
from digest.sources.base import Listing, ListingFormatError, PaperRecord

PAGE_SIZE = 100
MAX_PAGES = 20  # a day has never listed more than ~80 papers; this bounds a misbehaving server


def parse_api_items(body: bytes, day: dt.date) -> list[PaperRecord]:
    """Parse one answer of ``/api/daily_papers`` (a JSON array of items) into records."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ListingFormatError(f"the answer is not JSON ({exc})") from None
    if not isinstance(items, list):
        raise ListingFormatError(f"expected a JSON array of papers, got {type(items).__name__}")
    return [parse_item(item, day, position) for position, item in enumerate(items, start=1)]


def parse_item(item: object, day: dt.date, position: int) -> PaperRecord:
    """One listing item (``{"paper": {...}, "numComments": ..., ...}``) as a record."""
    where = f"item {position}"
    if not isinstance(item, Mapping):
        raise ListingFormatError(f"{where} is not an object")
    paper = item.get("paper")
    if not isinstance(paper, Mapping):
        raise ListingFormatError(f"{where} has no paper object")
    arxiv_id = _required_text(paper, "id", where)
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=_clean(_required_text(paper, "title", where)),
        abstract=_clean(_optional_text(paper, "summary") or ""),
        listed_on=day,
        authors=_authors(paper.get("authors"), where),
        published_at=_timestamp(paper.get("publishedAt")),
        upvotes=_count(paper.get("upvotes")),
        num_comments=_count(item.get("numComments")),
        github_repo=_optional_text(paper, "githubRepo"),
        github_stars=_count(paper["githubStars"]) if paper.get("githubStars") is not None else None,
        project_page=_optional_text(paper, "projectPage"),
        ai_summary=_optional_text(paper, "ai_summary"),
        ai_keywords=tuple(k for k in paper.get("ai_keywords") or () if isinstance(k, str)),
        thumbnail_url=_optional_text(item, "thumbnail"),
        organization=_organization(item.get("organization") or paper.get("organization")),
    )


def _required_text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ListingFormatError(f"{where} has no paper.{key}")
    return value.strip()


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _clean(text: str) -> str:
    """Collapse the line breaks and runs of spaces that abstracts carry over from LaTeX."""
    return " ".join(text.split())


def _authors(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ListingFormatError(f"{where} has paper.authors that is not a list")
    names = (author.get("name") for author in value if isinstance(author, Mapping))
    return tuple(name.strip() for name in names if isinstance(name, str) and name.strip())


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
        name = value.get("fullname") or value.get("name")
        return name if isinstance(name, str) and name else None
    return None


def build_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client for the listing: timeouts from the settings, one connection at a time."""
    timeout = httpx.Timeout(settings.http_read_timeout, connect=settings.http_connect_timeout)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(max_connections=1),
        headers={"User-Agent": f"paper-digest/{__version__}"},
        follow_redirects=True,
    )


class HfDailySource:
    """Reads one day's listing from the JSON API, page by page."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")

    async def fetch_day(self, day: dt.date) -> Listing:
        records: dict[str, PaperRecord] = {}
        for page in range(MAX_PAGES):
            batch = parse_api_items(await self._get_page(day, page), day)
            known = len(records)
            for record in batch:
                records.setdefault(record.arxiv_id, record)
            # A short page is the last one; a page with nothing new means the server ignores `p`.
            if len(batch) < PAGE_SIZE or len(records) == known:
                break
        return Listing(day=day, records=tuple(records.values()), path="api")

    async def _get_page(self, day: dt.date, page: int) -> bytes:
        url = f"{self._base_url}/api/daily_papers"
        params: dict[str, str | int] = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page}
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"GET {url}?date={day}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != httpx.codes.OK:
            raise SourceError(f"GET {response.url}: HTTP {response.status_code}")
        return response.content
