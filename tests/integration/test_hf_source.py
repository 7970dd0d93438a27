"""The Daily Papers source against a real HTTP server on 127.0.0.1: paging, the page as a
second path, and every fault the issue names. Sleeps are recorded, never waited for."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from digest import __version__
from digest.config import Settings, load_settings
from digest.errors import SourceError
from digest.sources import FetchError, ListingFormatError, RetryPolicy
from digest.sources.fetching import Fetcher, build_client
from digest.sources.hf_daily import MAX_PAGES, HfDailySource
from digest.sources.hf_parse import parse_api_items
from tests.conftest import hf_fixture
from tests.support.listing_server import (
    HTML,
    TEXT,
    ListingServer,
    Reply,
    Request,
    daily_pages,
    daily_papers,
    in_turn,
    routes,
    serving,
)

DAY = dt.date(2026, 6, 12)
PAGE_DAY = dt.date(2024, 8, 1)
SATURDAY = dt.date(2026, 6, 13)
NOW = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)
RECORDING = hf_fixture("api-daily_papers-2026-06-12.json")
PAGE = hf_fixture("page-papers-2024-08-01.html")
RECORDED_IDS = [r.arxiv_id for r in parse_api_items(RECORDING, DAY)]
UNAVAILABLE = Reply(503, b"unavailable", dict(TEXT))
PATIENT = RetryPolicy(retries=3, backoff=1.0, max_wait=60.0)


class Sleeps:
    """An injected sleep that records how long it was asked to wait, and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def server() -> Iterator[ListingServer]:
    with serving(
        routes(
            {
                "/api": daily_papers({"2026-06-12": RECORDING}),
                "/papers": daily_pages({"2024-08-01": PAGE}, latest=PAGE),
            }
        )
    ) as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def settings_for(server: ListingServer, **overrides: object) -> Settings:
    return load_settings(hf_base_url=server.url, **overrides)


@pytest.fixture
async def client(server: ListingServer) -> AsyncIterator[httpx.AsyncClient]:
    async with build_client(settings_for(server, http_read_timeout=2.0)) as http:
        yield http


def source_for(
    server: ListingServer,
    client: httpx.AsyncClient,
    sleeps: Sleeps,
    policy: RetryPolicy = PATIENT,
) -> HfDailySource:
    return HfDailySource(Fetcher(client, policy, sleep=sleeps, clock=lambda: NOW), server.url)


def api_pages(server: ListingServer) -> list[tuple[str, str, str]]:
    return [
        (r.query["date"], r.query["limit"], r.query["p"])
        for r in server.requests_to("/api/daily_papers")
    ]


# --- every paper --------------------------------------------------------------------------


async def test_the_api_is_read_until_an_empty_page(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert (listing.day, listing.path) == (DAY, "api")
    assert [r.arxiv_id for r in listing.records] == RECORDED_IDS
    assert api_pages(server) == [("2026-06-12", "100", "0"), ("2026-06-12", "100", "1")]
    assert sleeps.seconds == []


async def test_a_listing_split_into_small_pages_gives_the_same_papers(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = daily_papers({"2026-06-12": RECORDING}, max_limit=7)

    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert [r.arxiv_id for r in listing.records] == RECORDED_IDS
    assert [p for _, _, p in api_pages(server)] == ["0", "1", "2", "3", "4", "5"]  # 7*4+2, then []


async def test_more_than_100_papers_come_from_several_pages(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    template = json.loads(RECORDING)[0]
    items = [
        template | {"paper": template["paper"] | {"id": f"2606.{n:05d}", "title": f"Paper {n}"}}
        for n in range(250)
    ]
    server.responder = daily_papers({"2026-06-12": json.dumps(items).encode()})

    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert [r.arxiv_id for r in listing.records] == [f"2606.{n:05d}" for n in range(250)]
    assert [p for _, _, p in api_pages(server)] == ["0", "1", "2", "3"]


async def test_papers_repeated_across_pages_are_kept_once(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    items = json.loads(RECORDING)
    pages = {"0": items[:20], "1": items[15:], "2": []}  # five papers on both pages
    server.responder = lambda r: Reply(body=json.dumps(pages[r.query["p"]]).encode())

    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert [r.arxiv_id for r in listing.records] == RECORDED_IDS


async def test_a_server_that_ignores_the_page_number_is_read_once_more_then_left(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = lambda request: Reply(body=RECORDING)

    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert len(listing.records) == 30
    assert [p for _, _, p in api_pages(server)] == ["0", "1"]


async def test_a_listing_that_never_ends_is_cut_at_the_page_bound(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    def endless(request: Request) -> Reply:
        page = int(request.query["p"])
        return Reply(
            body=json.dumps([{"paper": {"id": f"9999.{page:05d}", "title": "t"}}]).encode()
        )

    server.responder = endless

    with pytest.raises(ListingFormatError, match=f"did not end after {MAX_PAGES} pages of 100"):
        await source_for(server, client, sleeps).from_api(DAY)
    assert len(server.requests) == MAX_PAGES


async def test_a_weekend_has_no_listing(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    listing = await source_for(server, client, sleeps).fetch_day(SATURDAY)

    assert (listing.records, listing.path, listing.note) == ((), "api", None)
    assert server.requests_to("/papers") == []


async def test_requests_name_the_project_its_version_and_a_contact(
    server: ListingServer, sleeps: Sleeps
) -> None:
    settings = settings_for(server, contact_url="https://lab.example.org/digest")
    async with build_client(settings) as client:
        await source_for(server, client, sleeps).fetch_day(DAY)

    agents = {r.headers["User-Agent"] for r in server.requests}
    assert agents == {f"paper-digest/{__version__} (+https://lab.example.org/digest)"}


# --- faults -------------------------------------------------------------------------------


async def test_5xx_answers_are_tried_again_with_growing_waits_then_succeed(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = in_turn(
        UNAVAILABLE,
        Reply(502, b"bad gateway", dict(TEXT)),
        Reply(500, b"oops", dict(TEXT)),
        then=daily_papers({"2026-06-12": RECORDING}),
    )

    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert (len(listing.records), listing.path) == (30, "api")
    # Exponential backoff (1, 2, 4 s) plus up to 1 s of jitter each.
    assert len(sleeps.seconds) == 3
    for wait, base in zip(sleeps.seconds, (1, 2, 4), strict=True):
        assert base <= wait <= base + 1


async def test_429_honours_retry_after_in_seconds(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = in_turn(
        Reply(429, b"slow down", {"Retry-After": "7"}),
        then=daily_papers({"2026-06-12": RECORDING}),
    )

    listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert len(listing.records) == 30
    assert sleeps.seconds == [7.0]


async def test_429_honours_retry_after_as_an_http_date(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = in_turn(
        Reply(429, b"slow down", {"Retry-After": "Sat, 13 Jun 2026 07:00:30 GMT"}),
        then=daily_papers({"2026-06-12": RECORDING}),
    )

    await source_for(server, client, sleeps).fetch_day(DAY)

    assert sleeps.seconds == [30.0]  # the clock says 07:00:00


async def test_a_long_retry_after_is_capped(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = in_turn(
        Reply(503, b"", {"Retry-After": "3600"}), then=daily_papers({"2026-06-12": RECORDING})
    )
    policy = RetryPolicy(retries=3, backoff=1.0, max_wait=45.0)

    await source_for(server, client, sleeps, policy).fetch_day(DAY)

    assert sleeps.seconds == [45.0]


async def test_an_api_that_stays_down_falls_back_to_the_page(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    pages = daily_pages({"2024-08-01": PAGE}, latest=PAGE)
    server.responder = routes({"/api": lambda request: UNAVAILABLE, "/papers": pages})

    listing = await source_for(server, client, sleeps).fetch_day(PAGE_DAY)

    assert (listing.path, len(listing.records)) == ("page", 13)
    assert listing.records[0].arxiv_id == "2407.21783"
    assert len(server.requests_to("/api/daily_papers")) == 4  # the first attempt and 3 retries
    # The page was asked for at /papers?date=D and its redirect followed.
    assert [r.path for r in server.requests if r.path.startswith("/papers")] == [
        "/papers",
        "/papers/date/2024-08-01",
    ]
    assert server.requests_to("/papers")[0].query == {"date": "2024-08-01"}


async def test_html_instead_of_json_falls_back_to_the_page_at_once(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    pages = daily_pages({"2024-08-01": PAGE}, latest=PAGE)
    login_wall = Reply(body=b"<html><body>Sign in</body></html>", headers=dict(HTML))
    server.responder = routes({"/api": lambda request: login_wall, "/papers": pages})

    listing = await source_for(server, client, sleeps).fetch_day(PAGE_DAY)

    assert (listing.path, len(listing.records)) == ("page", 13)
    assert len(server.requests_to("/api/daily_papers")) == 1  # a wrong answer is not retried
    assert sleeps.seconds == []


async def test_a_page_that_shows_another_day_means_no_listing(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    pages = daily_pages({"2024-08-01": PAGE}, latest=PAGE)
    server.responder = routes({"/api": lambda request: UNAVAILABLE, "/papers": pages})

    listing = await source_for(server, client, sleeps).fetch_day(SATURDAY)

    assert listing.records == ()
    assert listing.path == "page"
    assert listing.note == "the page shows 2024-08-01 instead"


async def test_a_paper_page_in_place_of_the_listing_page_is_an_error(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    paper_page = Reply(body=hf_fixture("page-paper-2509.24002-prettified.html"), headers=HTML)
    server.responder = routes(
        {"/api": lambda request: UNAVAILABLE, "/papers": lambda request: paper_page}
    )

    with pytest.raises(SourceError) as failure:
        await source_for(server, client, sleeps).fetch_day(DAY)

    assert f"the page failed too: GET {server.url}/papers?date=2026-06-12: not a Daily" in str(
        failure.value
    )


async def test_when_both_paths_fail_one_line_names_both_urls_and_what_happened(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = lambda request: UNAVAILABLE

    with pytest.raises(SourceError) as failure:
        await source_for(server, client, sleeps).fetch_day(DAY)

    assert str(failure.value) == (
        f"the API failed: GET {server.url}/api/daily_papers?date=2026-06-12&limit=100&p=0: "
        "HTTP 503 Service Unavailable (after 4 attempts); "
        f"the page failed too: GET {server.url}/papers?date=2026-06-12: "
        "HTTP 503 Service Unavailable (after 4 attempts)"
    )
    assert len(server.requests) == 8
    assert len(sleeps.seconds) == 6


async def test_a_broken_item_is_named_when_the_page_cannot_help_either(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    items = json.loads(RECORDING)
    del items[2]["paper"]["id"]
    server.responder = routes(
        {
            "/api": lambda request: Reply(body=json.dumps(items).encode()),
            "/papers": lambda request: Reply(404, b"gone", dict(TEXT)),
        }
    )

    with pytest.raises(SourceError) as failure:
        await source_for(server, client, sleeps).fetch_day(DAY)

    message = str(failure.value)
    assert "&p=0: item 3 has no paper.id;" in message
    assert message.endswith("/papers?date=2026-06-12: HTTP 404 Not Found")  # 404: not retried
    assert "\n" not in message


async def test_a_stalled_answer_times_out_and_is_tried_again(
    server: ListingServer, sleeps: Sleeps
) -> None:
    server.responder = in_turn(
        Reply(body=RECORDING, stall=True), then=daily_papers({"2026-06-12": RECORDING})
    )
    async with build_client(settings_for(server, http_read_timeout=0.2)) as client:
        listing = await source_for(server, client, sleeps).fetch_day(DAY)

    assert len(listing.records) == 30
    assert len(sleeps.seconds) == 1


async def test_an_answer_that_always_stalls_fails_naming_the_timeout(
    server: ListingServer, sleeps: Sleeps
) -> None:
    server.responder = lambda request: Reply(body=RECORDING, stall=True)
    policy = RetryPolicy(retries=1, backoff=0.0, max_wait=0.0)
    async with build_client(settings_for(server, http_read_timeout=0.1)) as client:
        fetcher = Fetcher(client, policy, sleep=sleeps)
        url = httpx.URL(f"{server.url}/api/daily_papers", params={"date": "2026-06-12"})
        with pytest.raises(FetchError) as failure:
            await fetcher.get(url)

    assert str(failure.value) == (
        f"GET {url}: ReadTimeout: no answer within 0.1 s (after 2 attempts)"
    )


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Reply(body=RECORDING[:1000], missing_bytes=500),
            "RemoteProtocolError: peer closed connection without sending complete message body",
        ),
        (Reply(hang_up=True), "RemoteProtocolError: Server disconnected without sending"),
    ],
    ids=["body-cut-short", "no-answer"],
)
async def test_a_broken_connection_is_tried_again(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps, fault: Reply, expected: str
) -> None:
    server.responder = in_turn(fault, then=daily_papers({"2026-06-12": RECORDING}))
    listing = await source_for(server, client, sleeps).fetch_day(DAY)
    assert len(listing.records) == 30
    assert len(sleeps.seconds) == 1

    server.responder = lambda request: fault
    url = httpx.URL(f"{server.url}/api/daily_papers")
    with pytest.raises(FetchError, match=f"GET {url}: {expected}.*after 4 attempts"):
        await Fetcher(client, RetryPolicy(retries=3, backoff=0.0), sleep=sleeps).get(url)


async def test_a_refused_connection_is_tried_again_then_named(sleeps: Sleeps) -> None:
    with serving(lambda request: Reply()) as closed:
        url = httpx.URL(f"{closed.url}/api/daily_papers")
    # The server has stopped: its port now refuses connections.
    async with httpx.AsyncClient() as client:
        fetcher = Fetcher(client, RetryPolicy(retries=2, backoff=0.5, max_wait=10.0), sleep=sleeps)
        with pytest.raises(FetchError, match=rf"GET {url}: ConnectError: .* \(after 3 attempts\)"):
            await fetcher.get(url)
    assert len(sleeps.seconds) == 2


async def test_a_404_is_not_tried_again(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    url = httpx.URL(f"{server.url}/api/nothing-here")
    with pytest.raises(FetchError, match=rf"^GET {url}: HTTP 404 Not Found$"):
        await Fetcher(client, RetryPolicy(), sleep=sleeps).get(url)
    assert (len(server.requests), sleeps.seconds) == (1, [])


async def test_an_answer_larger_than_the_bound_is_refused_not_retried(
    server: ListingServer, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    server.responder = lambda request: Reply(body=RECORDING)
    url = httpx.URL(f"{server.url}/api/daily_papers")
    fetcher = Fetcher(client, RetryPolicy(), sleep=sleeps, max_bytes=100_000)

    with pytest.raises(FetchError, match=rf"^GET {url}: the answer is larger than 100000 bytes$"):
        await fetcher.get(url)
    assert len(server.requests) == 1
    assert len(await Fetcher(client, RetryPolicy(), max_bytes=len(RECORDING)).get(url)) == len(
        RECORDING
    )
