"""How fast the sender empties the outbox, against the raw speed of its SMTP client.

    .venv/bin/python benchmarks/bench_send.py [--messages 10000] [--concurrency 4]
        [--database sqlite|postgresql] [--sink smtp-sink|aiosmtpd]

Fills a fresh database (a SQLite file, or a new PostgreSQL database on
DIGEST_TEST_POSTGRES_URL) with papers from the recorded listings and N
subscribers, each with one queued digest of 10-25 papers. Then, each in a
process of its own so that its peak memory is its own:

1. the whole path: ``digest send``'s sender (claim, render, serialise, send,
   mark sent) over ``--concurrency`` SMTP connections;
2. the raw ceiling: the same SMTP client (``SmtpMailer``) sending pre-serialised
   digests of the same kind over the same number of connections;
3. the same raw ceiling for plain 20 KiB messages, for reference (the client's
   cost grows with the size of a message).

The SMTP server is Postfix's ``smtp-sink`` (Debian package postfix; it accepts
and discards, fast enough to measure the sender), or aiosmtpd in a thread when
smtp-sink is missing (much slower: it then measures aiosmtpd too). Everything
runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from digest import db as database  # noqa: E402
from digest.app import App  # noqa: E402
from digest.config import Settings  # noqa: E402
from digest.db import Database  # noqa: E402
from digest.mail import Outgoing, SmtpMailer, serialise  # noqa: E402
from digest.models import (  # noqa: E402
    Delivery,
    DeliveryPaper,
    DeliveryStatus,
    Query,
    Subscriber,
    SubscriberStatus,
)
from digest.sources.hf_daily import parse_api_items  # noqa: E402
from digest.store import deliveries, papers  # noqa: E402

FIXTURES = ROOT / "tests" / "data" / "fixtures" / "hf"
LISTINGS = {
    "api-daily_papers-2026-06-12.json": dt.date(2026, 6, 12),
    "api-daily_papers-2026-07-31-subset.json": dt.date(2026, 7, 31),
}
NOW = dt.datetime(2026, 8, 1, 7, 0, tzinfo=dt.UTC)
SECRET = "benchmark-secret-key-0123456789-abcdefghij"
POSTGRES_ADMIN_URL = os.environ.get(
    "DIGEST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
QUERIES = ["language model", "diffusion", "reinforcement learning", "agent", "video"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink(kind: str) -> Iterator[tuple[int, str]]:
    """A discarding SMTP server on 127.0.0.1; yields its port and what it is."""
    port = free_port()
    binary = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if kind == "smtp-sink" else None)
    if kind == "smtp-sink" and binary and Path(binary).exists():
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        process = subprocess.Popen(
            [binary, *user, f"127.0.0.1:{port}", "1000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield port, "Postfix smtp-sink"
        finally:
            process.terminate()
            process.wait(timeout=10)
        return
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, "aiosmtpd (smtp-sink not installed: this measures aiosmtpd too)"
    finally:
        controller.stop()


def settings_for(database_url: str, port: int, concurrency: int) -> Settings:
    return Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        secret_key=SECRET,  # type: ignore[arg-type]
        mail_from="Paper Digest <digest@example.org>",
        public_url="https://digest.example.org",
        smtp_concurrency=concurrency,
        log_level="WARNING",
    )


async def fill(database_url: str, count: int) -> float:
    """Papers, ``count`` subscribers and one queued digest of 10-25 papers each."""
    db = Database.from_url(database_url)
    await database.upgrade(db.engine)
    rng = random.Random(20260612)
    records = [
        record
        for name, day in LISTINGS.items()
        for record in parse_api_items((FIXTURES / name).read_bytes(), day)
    ]
    async with db.transaction() as session:
        await papers.upsert_papers(session, records, "api", NOW)
        ids = [record.arxiv_id for record in records]
        chunk = 1000
        for start in range(0, count, chunk):
            numbers = range(start, min(start + chunk, count))
            await session.execute(
                insert(Subscriber),
                [
                    {
                        "id": n + 1,
                        "email": f"reader{n}@example.org",
                        "status": SubscriberStatus.ACTIVE,
                        "created_at": NOW,
                        "confirmed_at": NOW,
                    }
                    for n in numbers
                ],
            )
            await session.execute(
                insert(Query),
                [
                    {"subscriber_id": n + 1, "text": QUERIES[n % 5], "created_at": NOW}
                    for n in numbers
                ],
            )
            await session.execute(
                insert(Delivery),
                [
                    {
                        "id": n + 1,
                        "subscriber_id": n + 1,
                        "status": DeliveryStatus.PENDING,
                        "next_attempt_at": NOW,
                        "created_at": NOW,
                    }
                    for n in numbers
                ],
            )
            rows = []
            for n in numbers:
                for paper_id in rng.sample(ids, rng.randint(10, 25)):
                    rows.append(
                        {
                            "delivery_id": n + 1,
                            "subscriber_id": n + 1,
                            "paper_id": paper_id,
                            "score": rng.random() * 5,
                            "matched_queries": [QUERIES[n % 5]],
                        }
                    )
            await session.execute(insert(DeliveryPaper), rows)
    async with db.transaction() as session:
        counts = await deliveries.count_by_status(session)
    await db.dispose()
    assert counts[DeliveryStatus.PENDING] == count, counts
    return len(rows) / len(numbers)


async def requeue(database_url: str) -> None:
    """Every delivery pending again (for the stage breakdown after the whole-path run)."""
    db = Database.from_url(database_url)
    async with db.transaction() as session:
        await session.execute(
            update(Delivery).values(status=DeliveryStatus.PENDING, next_attempt_at=NOW)
        )
    await db.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def whole_path(database_url: str, port: int, concurrency: int, out: Any) -> None:
    """Child process: ``digest send``'s sender drains the outbox."""

    async def main() -> tuple[int, float]:
        app = App.from_settings(settings_for(database_url, port, concurrency))
        try:
            started = time.perf_counter()
            report = await app.sender().drain_once()
            seconds = time.perf_counter() - started
            async with app.db.transaction() as session:
                counts = await deliveries.count_by_status(session)
            assert report.error is None, report.error
            assert counts[DeliveryStatus.SENT] == report.sent, counts
            return report.sent, seconds
        finally:
            await app.close()

    sent, seconds = asyncio.run(main())
    out.send((sent, seconds, peak_rss_mb()))


def raw_ceiling(
    database_url: str, port: int, concurrency: int, count: int, sample: int, out: Any
) -> None:
    """Child process: the same client sends pre-serialised digests, no database, no rendering."""

    async def main() -> tuple[int, float, float]:
        settings = settings_for(database_url, port, concurrency)
        app = App.from_settings(settings)
        try:
            async with app.db.transaction() as session:
                found = list(
                    await session.scalars(
                        select(Delivery)
                        .options(selectinload(Delivery.papers))
                        .order_by(Delivery.id)
                        .limit(sample)
                    )
                )
            for delivery in found:
                delivery.message_id = app.composer.message_id()
            ready = [
                serialise(app.composer.digest(d), envelope_from=settings.sender_address)
                for d in found
            ]
        finally:
            await app.close()
        size = sum(len(o.data) for o in ready) / len(ready)
        queue = list(range(count))

        async def lane() -> int:
            mailer = SmtpMailer(settings)
            sent = 0
            try:
                while queue:
                    number = queue.pop()
                    await mailer.send(ready[number % len(ready)])
                    sent += 1
            finally:
                await mailer.close()
            return sent

        started = time.perf_counter()
        sent = sum(await asyncio.gather(*(lane() for _ in range(concurrency))))
        return sent, time.perf_counter() - started, size

    sent, seconds, size = asyncio.run(main())
    out.send((sent, seconds, peak_rss_mb(), size))


def raw_reference(database_url: str, port: int, concurrency: int, count: int, out: Any) -> None:
    """Child process: the raw ceiling for plain 20 KiB messages, the size the delivery
    issue's target assumed, to tell the client's limit from the size of our digests."""

    async def main() -> float:
        settings = settings_for(database_url, port, concurrency)
        line = b"x" * 70 + b"\r\n"
        head = b"From: digest@example.org\r\nTo: reader@example.org\r\nSubject: size\r\n\r\n"
        data = head + line * (20 * 1024 // len(line))
        message = Outgoing("digest@example.org", "reader@example.org", "<size@example.org>", data)
        queue = list(range(count))

        async def lane() -> None:
            mailer = SmtpMailer(settings)
            try:
                while queue:
                    queue.pop()
                    await mailer.send(message)
            finally:
                await mailer.close()

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)

    out.send(asyncio.run(main()))


def stages(database_url: str, port: int, count: int, out: Any) -> None:
    """Child process: CPU time per message of each stage, one stage at a time, over one
    connection (what limits the whole path)."""

    async def main() -> dict[str, float]:
        settings = settings_for(database_url, port, 1)
        app = App.from_settings(settings)
        sender = app.sender()
        mailer = SmtpMailer(settings)
        spent = dict.fromkeys(["claim", "render", "serialise", "send", "mark sent"], 0.0)
        done = 0
        try:
            while done < count:
                started = time.process_time()
                batch = await sender.claim()
                spent["claim"] += time.process_time() - started
                if not batch:
                    break
                started = time.process_time()
                messages = [app.composer.digest(delivery) for delivery in batch]
                spent["render"] += time.process_time() - started
                started = time.process_time()
                ready = [serialise(m, envelope_from=settings.sender_address) for m in messages]
                spent["serialise"] += time.process_time() - started
                started = time.process_time()
                for outgoing in ready:
                    await mailer.send(outgoing)
                spent["send"] += time.process_time() - started
                started = time.process_time()
                async with app.db.transaction() as session:
                    await deliveries.mark_sent(session, [d.id for d in batch], sender.name, NOW)
                spent["mark sent"] += time.process_time() - started
                done += len(batch)
        finally:
            await mailer.close()
            await app.close()
        return {stage: seconds / done * 1000 for stage, seconds in spent.items()}

    out.send(asyncio.run(main()))


def in_child(target: Any, *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, sender))
    process.start()
    result = receiver.recv()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed with exit code {process.exitcode}")
    return result


@contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    name = f"digest_bench_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sink", choices=["smtp-sink", "aiosmtpd"], default="smtp-sink")
    parser.add_argument("--sample", type=int, default=200, help="distinct digests for the raw run")
    parser.add_argument(
        "--stages", type=int, default=1000, help="digests for the per-stage CPU breakdown (0: none)"
    )
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()} before the run")
    with scratch_database(args.database) as database_url, smtp_sink(args.sink) as (port, sink):
        started = time.perf_counter()
        papers_each = asyncio.run(fill(database_url, args.messages))
        print(
            f"filled {args.database} with {args.messages} queued digests "
            f"({papers_each:.1f} papers each on average) in {time.perf_counter() - started:.1f}s"
        )
        print(f"SMTP server: {sink} on 127.0.0.1:{port}; {args.concurrency} connections")

        sent, seconds, rss = in_child(whole_path, database_url, port, args.concurrency)
        raw_sent, raw_seconds, raw_rss, size = in_child(
            raw_ceiling, database_url, port, args.concurrency, args.messages, args.sample
        )
        reference = in_child(raw_reference, database_url, port, args.concurrency, args.messages)
        breakdown = {}
        if args.stages:
            # On digests that are still queued: put them back first.
            asyncio.run(requeue(database_url))
            breakdown = in_child(stages, database_url, port, args.stages)
    whole, raw = sent / seconds, raw_sent / raw_seconds
    print(
        f"whole path (claim, render, serialise, send, mark sent): {sent} messages in "
        f"{seconds:.1f}s = {whole:.0f} messages/s, peak memory {rss:.0f} MB"
    )
    print(
        f"raw ceiling (same client, pre-serialised bytes): {raw_sent} messages in "
        f"{raw_seconds:.1f}s = {raw:.0f} messages/s, peak memory {raw_rss:.0f} MB"
    )
    print(f"ratio whole/raw: {whole / raw:.2f}")
    print(f"average digest: {size / 1024:.1f} KiB")
    print(
        f"raw ceiling for plain 20 KiB messages (same client and connections): "
        f"{reference:.0f} messages/s"
    )
    if breakdown:
        parts = ", ".join(f"{stage} {ms:.2f}" for stage, ms in breakdown.items())
        print(f"CPU ms per message by stage (one connection, {args.stages} digests): {parts}")
    print(f"load average after the run: {os.getloadavg()}")


if __name__ == "__main__":
    main()
