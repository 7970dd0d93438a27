"""How long /metrics and /healthz take to read a year of history from the database.

    .venv/bin/python benchmarks/bench_monitoring.py [--subscribers 10000] [--days 365]
        [--database sqlite|postgresql]

Fills a fresh database (a SQLite file, or a new PostgreSQL database on
DIGEST_TEST_POSTGRES_URL) with ``--subscribers`` subscribers and one delivery each per
day for ``--days`` days (mostly sent; some failed, retried, pending), and one run a day.
Then reads what a scrape of /metrics and a /healthz request read, several times, and
prints the median and the slowest. Both read the database at every request, so this is
their cost for a Prometheus scraping every 15 s and a load balancer checking health.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from benchmarks.bench_send import scratch_database  # noqa: E402
from digest import db as database  # noqa: E402
from digest.app import App  # noqa: E402
from digest.config import Settings  # noqa: E402
from digest.models import Delivery, DeliveryStatus, Run, RunStatus, Subscriber  # noqa: E402
from digest.web.health import HealthCheck  # noqa: E402
from digest.web.metrics import Metrics, Snapshot  # noqa: E402

NOW = dt.datetime(2026, 8, 1, 7, 0, tzinfo=dt.UTC)
CHUNK = 20_000
REPEATS = 7


async def fill(app: App, subscribers: int, days: int) -> float:
    started = time.perf_counter()
    await database.upgrade(app.db.engine)
    rng = random.Random(9)
    async with app.db.transaction() as session:
        await session.execute(
            insert(Subscriber),
            [
                {
                    "email": f"r{n}@example.org",
                    "status": "active",
                    "cadence": "daily",
                    "bounce_count": 0,
                    "created_at": NOW,
                }
                for n in range(subscribers)
            ],
        )
        await session.execute(
            insert(Run),
            [
                {
                    "day": (NOW - dt.timedelta(days=d)).date(),
                    "status": RunStatus.SENT,
                    "started_at": NOW - dt.timedelta(days=d),
                    "finished_at": NOW - dt.timedelta(days=d) + dt.timedelta(minutes=2),
                }
                for d in range(1, days + 1)
            ],
        )
    rows = []
    for day in range(1, days + 1):
        created = NOW - dt.timedelta(days=day)
        for subscriber in range(1, subscribers + 1):
            roll = rng.random()
            status = (
                DeliveryStatus.FAILED
                if roll < 0.01
                else DeliveryStatus.PENDING
                if day == 1 and roll < 0.05
                else DeliveryStatus.SENT
            )
            rows.append(
                {
                    "subscriber_id": subscriber,
                    "status": status,
                    "attempts": 1 + (roll < 0.1) + (roll < 0.02),
                    "next_attempt_at": created,
                    "created_at": created,
                    "sent_at": created if status is DeliveryStatus.SENT else None,
                    "failed_at": created if status is DeliveryStatus.FAILED else None,
                }
            )
            if len(rows) == CHUNK:
                async with app.db.transaction() as session:
                    await session.execute(insert(Delivery), rows)
                rows = []
    if rows:
        async with app.db.transaction() as session:
            await session.execute(insert(Delivery), rows)
    if not app.db.is_sqlite:
        async with app.db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


async def timed(work: object) -> tuple[float, float]:
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await work()  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), max(seconds)


async def bench(database_url: str, subscribers: int, days: int) -> None:
    app = App.from_settings(Settings(database_url=database_url), clock=lambda: NOW)
    try:
        filled = await fill(app, subscribers, days)
        print(f"filled {subscribers * days:,} deliveries, {days} runs in {filled:.1f} s")
        metrics, health = Metrics(app), HealthCheck(app)

        async def scrape() -> None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(Snapshot(await metrics.read()))
            generate_latest(registry)

        async def check() -> None:
            healthy, _ = await health.check()
            assert healthy

        for name, work in (("/metrics", scrape), ("/healthz", check)):
            median, slowest = await timed(work)
            print(f"{name}: median {median * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms")
    finally:
        await app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    options = parser.parse_args()
    with scratch_database(options.database) as url:
        print(f"{options.database}, {options.subscribers} subscribers x {options.days} days")
        asyncio.run(bench(url, options.subscribers, options.days))


if __name__ == "__main__":
    main()
