"""How long reading a listing takes: parsing each recorded answer, and a whole day fetched
from a local server on 127.0.0.1 (page by page, and through the HTML page).

Run: .venv/bin/python benchmarks/bench_source.py
Prints figures; asserts nothing (timing targets do not belong in tests).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from digest.sources import RetryPolicy
from digest.sources.fetching import Fetcher
from digest.sources.hf_daily import HfDailySource
from digest.sources.hf_parse import parse_api_items, parse_daily_page
from tests.support.listing_server import Reply, daily_pages, daily_papers, routes, serving

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "fixtures" / "hf"
DAY = dt.date(2026, 6, 12)
REPEAT = 20


def timed(work: Callable[[], object]) -> str:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return f"median {statistics.median(samples):7.2f} ms, max {max(samples):7.2f} ms"


async def atimed(work: Callable[[], Awaitable[object]]) -> str:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    return f"median {statistics.median(samples):7.2f} ms, max {max(samples):7.2f} ms"


async def main() -> None:
    logging.disable(logging.WARNING)  # the page fallback warns on every round
    api = (FIXTURES / "api-daily_papers-2026-06-12.json").read_bytes()
    page = (FIXTURES / "page-papers-2024-08-01.html").read_bytes()
    template = json.loads(api)[0]
    big = json.dumps(
        [template | {"paper": template["paper"] | {"id": f"2606.{n:05d}"}} for n in range(250)]
    ).encode()

    show("parse API answer, 30 items, 163 KB", timed(lambda: parse_api_items(api, DAY)))
    show("parse HTML page, 13 items, 218 KB", timed(lambda: parse_daily_page(page)))

    down = Reply(503, b"down", {"Content-Type": "text/plain"})
    pages = daily_pages({"2024-08-01": page}, latest=page)
    listings = {"2026-06-12": api, "2026-06-15": big}
    with serving(routes({"/api": daily_papers(listings), "/papers": pages})) as server:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as client:
            source = HfDailySource(Fetcher(client, RetryPolicy(retries=0)), server.url)
            show("fetch a day, 30 papers (2 requests)", await atimed(lambda: source.fetch_day(DAY)))
            many = dt.date(2026, 6, 15)
            show(
                "fetch a day, 250 papers (4 requests)", await atimed(lambda: source.fetch_day(many))
            )
            server.responder = routes({"/api": lambda request: down, "/papers": pages})
            old = dt.date(2024, 8, 1)
            show(
                "fetch a day from the page after a 503", await atimed(lambda: source.fetch_day(old))
            )


def show(label: str, figure: str) -> None:
    print(f"{label:<42} {figure}")


if __name__ == "__main__":
    asyncio.run(main())
