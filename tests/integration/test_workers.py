"""Real sender processes (``digest worker``, ``digest send``) against a real SMTP server:
killed mid-run, stopped gracefully, several at once on PostgreSQL, one at a time on SQLite."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.db import Database
from digest.models import Delivery, DeliveryStatus
from tests.conftest import hf_fixture
from tests.support.cli import Digest, digest_env
from tests.support.listing_server import daily_papers, serving
from tests.support.outbox import START, assert_nothing_half_recorded, delivery_counts, seed
from tests.support.processes import Process, until, until_async
from tests.support.smtp_server import SmtpServer

LISTING = "api-daily_papers-2026-06-12.json"


def sender_env(database_url: str, smtp: SmtpServer, **settings: str) -> dict[str, str]:
    return digest_env(database_url, smtp, **({"worker_poll_seconds": "0.2"} | settings))


async def test_a_killed_sender_loses_nothing_and_repeats_at_most_what_was_in_flight(
    db: Database,
    database_url: str,
    smtp: SmtpServer,
    tmp_path: Path,
    processes: list[Process],
) -> None:
    addresses = [f"reader{n}@example.org" for n in range(40)]
    await seed(db, addresses, START)
    smtp.slow(0.05)  # slow enough to catch the sender mid-run
    env = sender_env(
        database_url, smtp, smtp_concurrency="2", send_batch_size="5", send_lease_seconds="1"
    )
    first = Process(["worker"], env, tmp_path, "first")
    processes.append(first)
    await until(lambda: len(smtp.received) >= 10, "ten messages")

    first.signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    in_flight = (await delivery_counts(db)).get(DeliveryStatus.SENDING, 0)
    assert 0 < in_flight <= 5 + 2 * 2  # a batch and two per connection, at most

    second = Process(["worker"], env, tmp_path, "second")
    processes.append(second)
    await until(lambda: set(smtp.count_by_recipient()) == set(addresses), "every address")
    await until_async(
        lambda: _all_sent(db, len(addresses)), "every delivery to be recorded as sent"
    )
    second.signal(signal.SIGTERM)
    assert await second.wait() == 0, second.output()

    counts = smtp.count_by_recipient()
    duplicates = sum(count - 1 for count in counts.values())
    assert all(count >= 1 for count in counts.values())
    assert duplicates <= in_flight
    assert "worker stopped" in second.output()[0]


async def _all_sent(db: Database, expected: int) -> bool:
    return (await delivery_counts(db)).get(DeliveryStatus.SENT, 0) == expected


async def test_sigterm_finishes_what_is_in_flight_and_hands_back_the_rest(
    db: Database,
    database_url: str,
    smtp: SmtpServer,
    tmp_path: Path,
    processes: list[Process],
) -> None:
    addresses = [f"reader{n}@example.org" for n in range(30)]
    await seed(db, addresses, START)
    smtp.slow(0.05)
    env = sender_env(database_url, smtp, smtp_concurrency="3", send_batch_size="10")
    worker = Process(["worker"], env, tmp_path, "worker")
    processes.append(worker)
    await until(lambda: len(smtp.received) >= 5, "five messages")

    worker.signal(signal.SIGTERM)
    assert await worker.wait() == 0, worker.output()

    delivered = len(smtp.received)
    await assert_nothing_half_recorded(db, delivered, len(addresses))

    sent = await asyncio.to_thread(Digest(env), "send")
    assert sent.exit_code == 0, sent.output
    assert f"{len(addresses) - delivered} sent" in sent.stdout
    assert smtp.count_by_recipient() == dict.fromkeys(addresses, 1)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_three_workers_on_postgresql_send_every_message_exactly_once(
    db: Database,
    database_url: str,
    smtp: SmtpServer,
    tmp_path: Path,
    processes: list[Process],
) -> None:
    smtp.slow(0.01)
    env = sender_env(database_url, smtp, smtp_concurrency="2", send_batch_size="10")
    workers = [Process(["worker"], env, tmp_path, f"worker{n}") for n in range(3)]
    processes.extend(workers)
    # All three are polling the empty outbox before the digests arrive.
    await until(lambda: all("started" in worker.output()[1] for worker in workers), "three workers")
    addresses = [f"reader{n}@example.org" for n in range(150)]
    await seed(db, addresses, START, papers_each=1)

    await until(lambda: len(smtp.received) >= len(addresses), "every message")
    await until_async(lambda: _all_sent(db, len(addresses)), "every delivery recorded")
    for worker in workers:
        worker.signal(signal.SIGTERM)
    assert [await worker.wait() for worker in workers] == [0, 0, 0]

    assert smtp.count_by_recipient() == dict.fromkeys(addresses, 1)
    assert len(smtp.received) == len(addresses)
    async with db.transaction() as session:
        claimers = set(await session.scalars(select(Delivery.claimed_by).distinct()))
    assert len(claimers) == 3  # the work was shared


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_second_sender_steps_aside_clearly(
    db: Database,
    database_url: str,
    smtp: SmtpServer,
    tmp_path: Path,
    processes: list[Process],
) -> None:
    env = sender_env(database_url, smtp)
    worker = Process(["worker"], env, tmp_path, "worker")
    processes.append(worker)
    await until(lambda: "started" in worker.output()[1], "the worker")

    second = await asyncio.to_thread(Digest(env), "send")

    assert second.exit_code == 1
    assert (
        f"digest: error: another sender (pid {worker.popen.pid}) is sending from this SQLite "
        "database; on SQLite one sender runs at a time"
    ) in second.stderr
    # 'digest run' queues and leaves the sending to the worker that holds the database.
    with serving(daily_papers({"2026-06-12": hf_fixture(LISTING)})) as listing:
        digest = Digest(env | {"DIGEST_HF_BASE_URL": listing.url})
        added = await asyncio.to_thread(
            digest, "subscribers", "add", "bob@example.org", "-k", "LLM"
        )
        assert added.exit_code == 0, added.output
        ran = await asyncio.to_thread(digest, "run", "--date", "2026-06-12")
    assert ran.exit_code == 0, ran.output
    assert "1 subscriber matched, 1 email queued" in ran.stdout
    assert "outbox: 0 emails sent" in ran.stdout
    assert "the digests stay queued for it" in ran.stderr
    await until(lambda: len(smtp.received) == 1, "the worker to send the digest")

    worker.signal(signal.SIGTERM)
    assert await worker.wait() == 0
    again = await asyncio.to_thread(Digest(env), "send")
    assert again.exit_code == 0, again.output  # free again once it stopped
