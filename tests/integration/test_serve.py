"""``digest serve`` as real processes: the start-up run, the pages, /healthz and /metrics,
a graceful stop on SIGTERM mid-sending, and two instances on one PostgreSQL database
that never run the same day twice."""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from digest.db import Database
from digest.models import DeliveryStatus, Run, SubscriberStatus
from digest.store import subscribers
from tests.conftest import hf_fixture
from tests.support.cli import digest_env
from tests.support.listing_server import Reply, Request, daily_papers, serving
from tests.support.outbox import assert_nothing_half_recorded, delivery_counts
from tests.support.processes import Process, until, until_async
from tests.support.smtp_server import SmtpServer, free_port
from tests.support.week import RECORDING

RELEASE_BOUND_SECONDS = 60.0


def recent_days() -> dict[str, bytes]:
    """The recording under yesterday's date (and today's, should midnight pass mid-test)."""
    today = dt.datetime.now(dt.UTC).date()
    body = hf_fixture(RECORDING)
    return {day.isoformat(): body for day in (today - dt.timedelta(days=1), today)}


def serve_env(database_url: str, smtp: SmtpServer, listing_url: str) -> dict[str, str]:
    return digest_env(
        database_url,
        smtp,
        listing_url=listing_url,
        http_retries="0",
        worker_poll_seconds="0.2",
        smtp_concurrency="2",
        send_batch_size="5",
    )


async def add_readers(db: Database, count: int) -> list[str]:
    addresses = [f"reader{n}@example.org" for n in range(count)]
    async with db.transaction() as session:
        for address in addresses:
            await subscribers.add(
                session, address, ["model"], SubscriberStatus.ACTIVE, dt.datetime.now(dt.UTC)
            )
    return addresses


def start_serve(
    env: dict[str, str], folder: Path, name: str, processes: list[Process]
) -> tuple[Process, str]:
    port = free_port()
    process = Process(["serve", "--port", str(port)], env, folder, name)
    processes.append(process)
    return process, f"http://127.0.0.1:{port}"


async def test_serve_runs_at_start_up_serves_and_stops_gracefully_mid_sending(
    db: Database, database_url: str, smtp: SmtpServer, tmp_path: Path, processes: list[Process]
) -> None:
    addresses = await add_readers(db, 60)
    smtp.slow(0.05)  # slow enough to stop it mid-way
    with serving(daily_papers(recent_days())) as listing:
        env = serve_env(database_url, smtp, listing.url) | {"DIGEST_LOG_FORMAT": "json"}
        serve, url = start_serve(env, tmp_path, "serve", processes)
        await until(lambda: serve.logged("Application startup complete"), "the web server")
        await until(lambda: len(smtp.received) >= 5, "five digests")

        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            page = await client.get("/")
            health = await client.get("/healthz")
        serve.signal(signal.SIGTERM)
        assert await serve.wait() == 0, serve.output()

    assert page.status_code == 200
    assert health.status_code == 200, health.text
    assert health.json()["last_run"]["status"] == "sent"
    _, err = serve.output()
    events = [json.loads(line) for line in err.splitlines()]  # one JSON object per line
    assert {"time", "level", "logger", "message"} <= set(events[0])
    messages = [event["message"] for event in events]
    assert any(m.startswith("the daily job ran 1 day up to") for m in messages), messages
    assert any(e["logger"] == "uvicorn.error" for e in events)  # third-party lines too
    assert not any("exc_info" in event for event in events)
    assert not any(address in err for address in addresses)  # no address in the log
    await assert_nothing_half_recorded(db, len(smtp.received), len(addresses))
    assert smtp.count_by_recipient() == dict.fromkeys(smtp.count_by_recipient(), 1)


class Gate:
    """Holds every listing request until ``open()``: a day being run stays in flight."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.listings = daily_papers(recent_days())

    def __call__(self, request: Request) -> Reply:
        self.opened.wait(RELEASE_BOUND_SECONDS)
        return self.listings(request)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_instances_on_postgresql_never_run_the_same_day_twice(
    db: Database, database_url: str, smtp: SmtpServer, tmp_path: Path, processes: list[Process]
) -> None:
    addresses = await add_readers(db, 12)
    gate = Gate()
    with serving(gate) as listing:
        env = serve_env(database_url, smtp, listing.url)
        first, first_url = start_serve(env, tmp_path, "first", processes)
        second, second_url = start_serve(env, tmp_path, "second", processes)
        # Both start-up runs fire; one holds the run lock while its listing is held back,
        # so the other must find the lock taken and step aside.
        stepped_aside = "the daily job steps aside"
        await until(
            lambda: first.logged(stepped_aside) or second.logged(stepped_aside),
            "one instance to step aside",
        )
        gate.opened.set()
        await until(lambda: len(smtp.received) >= len(addresses), "every digest")
        await until_async(
            lambda: _all_sent(db, len(addresses)), "every delivery to be recorded as sent"
        )
        async with httpx.AsyncClient(timeout=10) as client:
            health = [await client.get(f"{url}/healthz") for url in (first_url, second_url)]
            scraped = [(await client.get(f"{url}/metrics")).text for url in (first_url, second_url)]
        for process in (first, second):
            process.signal(signal.SIGTERM)
        assert [await first.wait(), await second.wait()] == [0, 0]

    async with db.transaction() as session:
        days = list(await session.execute(select(Run.day, Run.status)))
    assert len(days) == 1  # the day was run once, by one of them
    assert str(days[0][1]) == "sent"
    assert smtp.count_by_recipient() == dict.fromkeys(addresses, 1)
    assert [response.status_code for response in health] == [200, 200]
    assert health[0].json()["last_run"] == health[1].json()["last_run"]
    for text in scraped:  # either process reports the run, whichever ran it
        assert 'digest_runs_total{status="sent"} 1.0' in text
        assert f"digest_emails_sent_total {float(len(addresses))}" in text
    outputs = [process.output()[1] for process in (first, second)]
    assert sum(stepped_aside in err for err in outputs) == 1, json.dumps(outputs)


async def _all_sent(db: Database, expected: int) -> bool:
    return (await delivery_counts(db)).get(DeliveryStatus.SENT, 0) == expected
