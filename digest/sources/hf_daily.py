"""Hugging Face Daily Papers as a Source: the JSON API page by page, the HTML page as a second path.

The API (``/api/daily_papers?date=D&limit=100&p=N``) is read until a page comes
back empty. When it fails after its retries, or answers something that is not
the expected JSON, the page ``/papers?date=D`` is read instead. That page
never says "no papers": for a day without a listing it shows the latest listed
day, so the day it shows is compared with the day asked.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import httpx

from digest.errors import SourceError
from digest.sources.base import Listing, ListingFormatError, PaperRecord
from digest.sources.fetching import Fetcher, build_client
from digest.sources.hf_parse import parse_api_items, parse_daily_page

__all__ = ["MAX_PAGES", "PAGE_SIZE", "HfDailySource", "build_client", "parse_api_items"]

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 20  # a day has never listed more than ~80 papers; this bounds a misbehaving server


class HfDailySource:
    """Reads one day's listing from the JSON API, or from the HTML page when the API fails."""

    def __init__(self, fetcher: Fetcher, base_url: str) -> None:
        self._fetcher = fetcher
        self._base_url = base_url.rstrip("/")

    async def fetch_day(self, day: dt.date) -> Listing:
        try:
            return await self.from_api(day)
        except SourceError as api_failure:
            log.warning("the API failed, reading the page instead: %s", api_failure)
            try:
                return await self.from_page(day)
            except SourceError as page_failure:
                raise SourceError(
                    f"the API failed: {api_failure}; the page failed too: {page_failure}"
                ) from page_failure

    async def from_api(self, day: dt.date) -> Listing:
        """Every paper of ``day`` from the JSON API, page by page until an empty page."""
        records: dict[str, PaperRecord] = {}
        for page in range(MAX_PAGES):
            url = httpx.URL(
                f"{self._base_url}/api/daily_papers",
                params={"date": day.isoformat(), "limit": PAGE_SIZE, "p": page},
            )
            body = await self._fetcher.get(url)
            try:
                batch = parse_api_items(body, day)
            except ListingFormatError as exc:
                raise ListingFormatError(f"GET {url}: {exc}") from None
            if not batch:
                return _listing(day, records.values(), "api")
            known = len(records)
            for record in batch:
                records.setdefault(record.arxiv_id, record)
            if len(records) == known:
                # A page that adds nothing: the server ignores `p` and repeats itself.
                log.info("GET %s added no new paper; taking it as the last page", url)
                return _listing(day, records.values(), "api")
        raise ListingFormatError(
            f"GET {url}: the listing did not end after {MAX_PAGES} pages of {PAGE_SIZE}"
        )

    async def from_page(self, day: dt.date) -> Listing:
        """The papers of ``day`` from the HTML page, or none if the page shows another day."""
        url = httpx.URL(f"{self._base_url}/papers", params={"date": day.isoformat()})
        body = await self._fetcher.get(url)
        try:
            page = parse_daily_page(body)
        except ListingFormatError as exc:
            raise ListingFormatError(f"GET {url}: {exc}") from None
        if page.day != day:
            return Listing(day, (), "page", note=f"the page shows {page.day} instead")
        return _listing(day, page.records, "page")


def _listing(day: dt.date, records: Iterable[PaperRecord], path: str) -> Listing:
    unique: dict[str, PaperRecord] = {}
    for record in records:
        unique.setdefault(record.arxiv_id, record)
    return Listing(day, tuple(unique.values()), path)
