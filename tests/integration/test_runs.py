"""``digest run`` and ``digest fetch`` on both databases, against a real listing server and a
real SMTP server: the four run statuses, the page path, all-or-nothing storing, backfill with
``--since``, ``--dry-run``, and fetching alone."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from select import select as wait_readable
from typing import Any

import pytest
from sqlalchemy import select

from digest.clock import yesterday
from digest.db import Database
from digest.models import Delivery, DeliveryPaper, Paper, Run
from digest.sources.hf_parse import parse_api_items
from tests.conftest import hf_fixture
from tests.support.cli import Digest, digest_env
from tests.support.listing_server import (
    TEXT,
    ListingServer,
    Reply,
    Request,
    Responder,
    daily_pages,
    daily_papers,
    routes,
    serving,
)
from tests.support.smtp_server import SmtpServer

DAY = "2026-06-12"
RECORDING = hf_fixture("api-daily_papers-2026-06-12.json")
PAGE = hf_fixture("page-papers-2024-08-01.html")
TITLES = {r.arxiv_id: r.title for r in parse_api_items(RECORDING, dt.date(2026, 6, 12))}
BOB = ("bob@example.org", "transformer")
BOB_PAPERS = {"2606.13289", "2606.09446", "2606.08788"}  # checked by hand (test_daily_run.py)
UNAVAILABLE = Reply(503, b"unavailable", dict(TEXT))


def failing_on(days: set[str], then: Responder) -> Responder:
    """503 for every request about one of ``days`` (API and page), else ``then``."""

    def respond(request: Request) -> Reply:
        asked = request.query.get("date") or request.path.removeprefix("/papers/date/")
        return UNAVAILABLE if asked in days else then(request)

    return respond


def site(listings: Mapping[str, bytes], pages: Mapping[str, bytes] | None = None) -> Responder:
    """The API from ``listings`` and the HTML pages from ``pages`` (latest: the 2024 page)."""
    return routes(
        {"/api": daily_papers(listings), "/papers": daily_pages(pages or {}, latest=PAGE)}
    )


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(site({DAY: RECORDING})) as server:
        yield server


@pytest.fixture
def digest(
    database_url: str,
    listing: ListingServer,
    smtp: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Digest:
    monkeypatch.chdir(tmp_path)
    run = Digest(
        digest_env(
            database_url,
            smtp,
            listing_url=listing.url,
            public_url=None,
            http_retries="2",
            http_backoff_seconds="0",
        )
    )
    assert run("db", "upgrade").exit_code == 0
    return run


def rows(database_url: str, model: Any) -> list[Any]:
    async def read() -> list[Any]:
        db = Database.from_url(database_url)
        try:
            async with db.transaction() as session:
                return list(await session.scalars(select(model)))
        finally:
            await db.dispose()

    return asyncio.run(read())


def runs_table(database_url: str) -> list[tuple[str, str, str | None, int, bool]]:
    """(day, status, source_path, papers_fetched, has an error) for every run, oldest first."""
    return [
        (str(r.day), str(r.status), r.source_path, r.papers_fetched, r.error is not None)
        for r in sorted(rows(database_url, Run), key=lambda r: r.id)
    ]


def error_lines(stderr: str) -> list[str]:
    """The error lines of a command (stderr also carries log lines, e.g. about retries)."""
    return [line for line in stderr.splitlines() if line.startswith("digest: error:")]


def paper_ids(text: str) -> set[str]:
    return set(re.findall(r"https://huggingface\.co/papers/(\d{4}\.\d{4,5})", text))


def sent_ids(smtp: SmtpServer, address: str) -> list[set[str]]:
    return [paper_ids(m.get_body(("plain",)).get_content()) for m in smtp.messages_to(address)]


# --- the four statuses ----------------------------------------------------------------------


def test_the_four_statuses_never_look_alike(
    digest: Digest, listing: ListingServer, database_url: str
) -> None:
    listing.responder = failing_on({"2026-06-15"}, site({DAY: RECORDING}))
    assert digest("subscribers", "add", BOB[0], "-k", BOB[1]).exit_code == 0

    sent = digest("run", "--date", DAY)
    nothing_new = digest("run", "--date", DAY)
    no_listing = digest("run", "--date", "2026-06-13")
    failed = digest("run", "--date", "2026-06-15")

    assert [r.exit_code for r in (sent, nothing_new, no_listing, failed)] == [0, 0, 0, 1]
    assert sent.stdout.splitlines()[0] == (
        "2026-06-12: sent: 30 papers fetched, 30 new, 1 subscriber matched, 1 email queued (api)"
    )
    assert nothing_new.stdout.splitlines()[0] == (
        "2026-06-12: nothing_new: 30 papers fetched, 0 new, "
        "no subscriber has a matching paper they were not sent before (api)"
    )
    assert no_listing.stdout.splitlines()[0] == (
        "2026-06-13: no_listing: no papers are listed for Sat 13 Jun 2026 (api)"
    )
    assert failed.stdout == "2026-06-15: failed: nothing was stored or queued\n"
    api = f"{listing.url}/api/daily_papers?date=2026-06-15&limit=100&p=0"
    page = f"{listing.url}/papers?date=2026-06-15"
    assert error_lines(failed.stderr) == [
        f"digest: error: 2026-06-15: the API failed: GET {api}: "
        "HTTP 503 Service Unavailable (after 3 attempts); the page failed too: "
        f"GET {page}: HTTP 503 Service Unavailable (after 3 attempts)"
    ]
    assert "Traceback" not in failed.stderr
    assert runs_table(database_url) == [
        ("2026-06-12", "sent", "api", 30, False),
        ("2026-06-12", "nothing_new", "api", 30, False),
        ("2026-06-13", "no_listing", "api", 0, False),
        ("2026-06-15", "failed", None, 0, True),
    ]
    [failed_run] = [r for r in rows(database_url, Run) if r.status == "failed"]
    assert failed_run.error.startswith(f"the API failed: GET {api}: HTTP 503")


def test_a_day_read_from_the_page_records_the_page_path(
    digest: Digest, listing: ListingServer, database_url: str
) -> None:
    pages = daily_pages({"2024-08-01": PAGE}, latest=PAGE)
    listing.responder = routes({"/api": lambda request: UNAVAILABLE, "/papers": pages})

    from_page = digest("run", "--date", "2024-08-01")
    another_day = digest("run", "--date", "2024-08-03")

    assert from_page.exit_code == 0, from_page.output
    assert from_page.stdout.startswith("2024-08-01: nothing_new: 13 papers fetched, 13 new, ")
    assert from_page.stdout.splitlines()[0].endswith("(page)")
    assert another_day.exit_code == 0, another_day.output
    assert another_day.stdout.splitlines()[0] == (
        "2024-08-03: no_listing: no papers are listed for Sat 03 Aug 2024 (page); "
        "the page shows 2024-08-01 instead"
    )
    assert runs_table(database_url) == [
        ("2024-08-01", "nothing_new", "page", 13, False),
        ("2024-08-03", "no_listing", "page", 0, False),
    ]
    stored = rows(database_url, Paper)
    assert {p.source for p in stored} == {"page"}
    assert {str(p.listed_on) for p in stored} == {"2024-08-01"}


def test_a_later_page_failing_stores_none_of_the_day(
    digest: Digest, listing: ListingServer, database_url: str, smtp: SmtpServer
) -> None:
    first_page = daily_papers({DAY: RECORDING}, max_limit=10)

    def api(request: Request) -> Reply:
        return first_page(request) if request.query.get("p") == "0" else UNAVAILABLE

    listing.responder = routes({"/api": api, "/papers": lambda request: UNAVAILABLE})
    assert digest("subscribers", "add", BOB[0], "-k", BOB[1]).exit_code == 0

    result = digest("run", "--date", DAY)

    assert result.exit_code == 1
    assert "&limit=100&p=1: HTTP 503 Service Unavailable (after 3 attempts)" in result.stderr
    assert rows(database_url, Paper) == []
    assert rows(database_url, Delivery) == []
    assert rows(database_url, DeliveryPaper) == []
    assert runs_table(database_url) == [(DAY, "failed", None, 0, True)]
    assert smtp.received == []


# --- backfill -------------------------------------------------------------------------------


def test_since_catches_up_missed_days_in_order_with_one_email(
    digest: Digest, listing: ListingServer, database_url: str, smtp: SmtpServer
) -> None:
    last = yesterday()
    d1, d2, d3, d4 = (str(last - dt.timedelta(days=n)) for n in (3, 2, 1, 0))
    items = json.loads(RECORDING)
    halves = {d1: json.dumps(items[:15]).encode(), d4: json.dumps(items[15:]).encode()}
    listing.responder = site(halves)
    assert digest("run", "--date", d3).exit_code == 0  # d3 already ran, with success
    assert digest("subscribers", "add", BOB[0], "-k", BOB[1]).exit_code == 0
    listing.requests.clear()

    result = digest("run", "--since", d1)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{d1}: sent: 15 papers fetched, 15 new, 1 subscriber matched")
    assert lines[1].startswith(f"{d2}: no_listing: no papers are listed for ")
    assert lines[2].startswith(f"{d4}: sent: 15 papers fetched, 15 new, 1 subscriber matched")
    assert lines[3] == "caught up 3 days: 2 sent, 1 no_listing; 1 skipped (already done)"
    assert lines[4].startswith("outbox: 1 email sent in ")
    assert len(lines) == 5
    assert "catching up" not in result.stderr  # stderr is not a terminal: no progress bar
    asked = [r.query["date"] for r in listing.requests_to("/api/daily_papers")]
    assert asked == [d1, d1, d2, d4, d4]  # in order, d3 skipped
    assert sent_ids(smtp, BOB[0]) == [BOB_PAPERS]  # one email covering both days
    assert [(day, status) for day, status, *_ in runs_table(database_url)] == [
        (d3, "no_listing"),
        (d1, "sent"),
        (d2, "no_listing"),
        (d4, "sent"),
    ]

    again = digest("run", "--since", d1)
    assert again.exit_code == 0, again.output
    assert again.stdout == "caught up: every day already has a successful run (4 skipped)\n"


def test_since_goes_on_after_a_failed_day_and_exit_1_then_retries_only_that_day(
    digest: Digest, listing: ListingServer, database_url: str, smtp: SmtpServer
) -> None:
    last = yesterday()
    bad, good = str(last - dt.timedelta(days=1)), str(last)
    listing.responder = failing_on({bad}, site({good: RECORDING}))
    assert digest("subscribers", "add", BOB[0], "-k", BOB[1]).exit_code == 0

    result = digest("run", "--since", bad)

    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"{bad}: failed: nothing was stored or queued",
        f"{good}: sent: 30 papers fetched, 30 new, 1 subscriber matched, 1 email queued (api)",
        "caught up 2 days: 1 failed, 1 sent; 0 skipped (already done)",
    ]
    [error] = error_lines(result.stderr)
    assert error.startswith(f"digest: error: {bad}: the API failed: GET ")
    assert sent_ids(smtp, BOB[0]) == [BOB_PAPERS]

    listing.responder = site({good: RECORDING})
    listing.requests.clear()
    retried = digest("run", "--since", bad)
    assert retried.exit_code == 0, retried.output
    assert {r.query["date"] for r in listing.requests_to("/api/daily_papers")} == {bad}


# --- dry run --------------------------------------------------------------------------------


def test_a_dry_run_prints_who_would_get_what_and_leaves_no_trace(
    digest: Digest, database_url: str, smtp: SmtpServer
) -> None:
    assert digest("subscribers", "add", BOB[0], "-k", BOB[1]).exit_code == 0
    assert (
        digest("subscribers", "add", "alice@example.org", "-k", '"sparse attention"').exit_code == 0
    )

    dry = digest("run", "--date", DAY, "--dry-run")

    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[0] == (
        "2026-06-12: sent: 30 papers fetched, 30 new, 2 subscribers matched, "
        "2 emails would be queued (api)"
    )
    assert lines[-1] == "dry run: nothing was stored, queued or sent"
    planned: dict[str, set[str]] = {}
    for line in lines[1:-1]:
        if not line.startswith("    "):
            heading = re.fullmatch(r"  (\S+): (\d+) papers?", line)
            assert heading is not None, line
            address = heading.group(1)
            planned[address] = set()
            continue
        paper_id, title = line.strip().split("  ", 1)
        assert TITLES[paper_id] == title
        planned[address].add(paper_id)
    assert planned == {"alice@example.org": {"2606.13392"}, BOB[0]: BOB_PAPERS}
    for model in (Run, Paper, Delivery, DeliveryPaper):
        assert rows(database_url, model) == [], model
    assert smtp.received == []

    real = digest("run", "--date", DAY)
    assert real.exit_code == 0, real.output
    assert {address: sent_ids(smtp, address) for address in planned} == {
        address: [ids] for address, ids in planned.items()
    }


# --- fetch ----------------------------------------------------------------------------------


def test_fetch_stores_and_shows_the_papers_and_a_refetch_refreshes_counts(
    digest: Digest, listing: ListingServer, database_url: str, smtp: SmtpServer
) -> None:
    first = digest("fetch", "--date", DAY)

    assert first.exit_code == 0, first.output
    assert first.stderr == "2026-06-12: 30 papers listed, 30 new (api)\n"
    table = [line.split("\t") for line in first.stdout.splitlines()]
    assert len(table) == 30
    assert all(row[0] == "new" for row in table)
    assert table[0][1:4] == ["2606.13681", "118", "3"]  # checked by hand: the most upvoted
    upvotes = [int(row[2]) for row in table]
    assert upvotes == sorted(upvotes, reverse=True)
    assert {row[1] for row in table} == set(TITLES)

    items = json.loads(RECORDING)
    [msa] = [item for item in items if item["paper"]["id"] == "2606.13392"]
    msa["paper"]["upvotes"], msa["numComments"] = 150, 9
    listing.responder = site({DAY: json.dumps(items).encode()})

    again = digest("fetch", "--date", DAY, "--json")

    assert again.exit_code == 0, again.output
    document = json.loads(again.stdout)
    assert (document["day"], document["source_path"], document["note"]) == (DAY, "api", None)
    assert [p["new"] for p in document["papers"]] == [False] * 30
    top = document["papers"][0]
    assert (top["arxiv_id"], top["upvotes"], top["num_comments"]) == ("2606.13392", 150, 9)
    assert top["github_repo"] == "https://github.com/MiniMax-AI/MSA"
    [stored] = [p for p in rows(database_url, Paper) if p.id == "2606.13392"]
    assert (stored.upvotes, stored.num_comments, str(stored.listed_on)) == (150, 9, DAY)
    assert rows(database_url, Run) == []  # fetching is not a run
    assert smtp.received == []

    # Fetched papers are not new any more, but nobody has been sent them yet.
    assert digest("subscribers", "add", BOB[0], "-k", BOB[1]).exit_code == 0
    run = digest("run", "--date", DAY)
    assert run.stdout.startswith("2026-06-12: sent: 30 papers fetched, 0 new, 1 subscriber ")
    assert sent_ids(smtp, BOB[0]) == [BOB_PAPERS]


def test_fetch_of_a_quiet_day_and_of_a_failing_one(digest: Digest, listing: ListingServer) -> None:
    quiet = digest("fetch", "--date", "2026-06-13")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == ""
    assert quiet.stderr == "2026-06-13: no papers are listed for Sat 13 Jun 2026 (api)\n"

    listing.responder = lambda request: UNAVAILABLE
    failing = digest("fetch", "--date", DAY)
    assert failing.exit_code == 1
    [error] = error_lines(failing.stderr)
    assert error.startswith(f"digest: error: the API failed: GET {listing.url}/api/daily_papers?")
    assert "Traceback" not in failing.stderr


# --- bad input and the progress bar -----------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", DAY, "--since", DAY], "give either --date or --since, not both"),
        (["--since", "2999-01-01"], "--since 2999-01-01 is not before today"),
        (["--since", "2001-01-01"], "days back; at most 366 days are caught up at once"),
    ],
)
def test_bad_backfill_input_is_one_line_and_exit_code_2(
    digest: Digest, listing: ListingServer, database_url: str, args: list[str], message: str
) -> None:
    result = digest("run", *args)

    assert result.exit_code == 2
    assert result.stderr.startswith("digest: error: ")
    assert message in result.stderr
    assert listing.requests == []
    assert rows(database_url, Run) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_progress_bar_shows_on_a_terminal_stderr_only(
    digest: Digest, listing: ListingServer, tmp_path: Path
) -> None:
    program = shutil.which("digest", path=str(Path(sys.executable).parent))
    assert program, "the digest console script is not installed next to this Python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env |= digest.env | {"TERM": "xterm-256color", "COLUMNS": "100"}
    since = str(yesterday() - dt.timedelta(days=2))
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [program, "run", "--since", since],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    ) as process:
        os.close(terminal)
        screen = read_until_closed(controller, seconds=60)
        stdout = process.stdout.read().decode() if process.stdout else ""
    assert process.returncode == 0, screen
    assert "catching up" in screen
    assert "3/3" in screen
    assert "catching up" not in stdout  # the day lines go to the pipe, the bar does not
    assert len([line for line in stdout.splitlines() if ": no_listing: " in line]) == 3


def read_until_closed(fd: int, *, seconds: float) -> str:
    """Everything written to a pseudo-terminal until its other end closes, within a bound."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = wait_readable([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError:  # EIO: every writer has closed the terminal
        pass
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")
