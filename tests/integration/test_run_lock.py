"""One daily run at a time per database: the lock, `digest run` refusing while another run
holds it, the catch-up window, and the alert email when a run fails."""

from __future__ import annotations

import asyncio
import datetime as dt

from digest import alerts, pipeline
from digest.db import Database
from digest.run_lock import RunLock
from digest.store import runs
from tests.support.cli import SECRET_KEY, Digest, digest_env
from tests.support.listing_server import Reply, Request, daily_papers, serving
from tests.support.outbox import FakeClock
from tests.support.smtp_server import SmtpServer
from tests.support.week import WEEKDAYS, service_app, week_of_listings


async def test_the_lock_is_held_by_one_holder_at_a_time(db: Database, database_url: str) -> None:
    other = Database.from_url(database_url)  # another process's engine
    try:
        async with RunLock(db).hold() as first, RunLock(other).hold() as second:
            assert (first, second) == (True, False)
        async with RunLock(other).hold() as again:
            assert again is True  # released when the first holder was done
    finally:
        await other.dispose()


async def test_the_job_steps_aside_while_another_holds_the_lock(db: Database) -> None:
    async with RunLock(db).hold() as held:
        assert held
        report = await pipeline.catch_up(
            WEEKDAYS[0],
            window=7,
            db=db,
            source=None,  # type: ignore[arg-type]  # never reached
            timetable=None,  # type: ignore[arg-type]
        )
    assert report is None


async def test_digest_run_refuses_while_another_run_holds_the_lock(
    db: Database, database_url: str
) -> None:
    digest = Digest({"DIGEST_DATABASE_URL": database_url, "DIGEST_SECRET_KEY": SECRET_KEY})
    async with RunLock(db).hold():
        result = await asyncio.to_thread(digest, "run", "--date", "2026-06-12")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "digest: error: another daily run is in progress on this database (digest serve or "
        "digest run); try again when it has finished\n"
    )
    async with db.transaction() as session:
        assert await runs.latest(session, 10) == []  # nothing was started


async def test_the_window_starts_with_the_first_run_ever(db: Database) -> None:
    last = dt.date(2026, 6, 14)
    assert await pipeline.first_day_to_catch_up(last, 7, db=db) == last  # a new installation
    async with db.transaction() as session:
        await runs.start(session, dt.date(2026, 6, 11), dt.datetime(2026, 6, 12, tzinfo=dt.UTC))
    assert await pipeline.first_day_to_catch_up(last, 7, db=db) == dt.date(2026, 6, 11)
    async with db.transaction() as session:
        await runs.start(session, dt.date(2026, 1, 1), dt.datetime(2026, 6, 12, tzinfo=dt.UTC))
    assert await pipeline.first_day_to_catch_up(last, 7, db=db) == dt.date(2026, 6, 8)
    assert await pipeline.first_day_to_catch_up(last, 1, db=db) == last


BROKEN = {WEEKDAYS[1].isoformat(), WEEKDAYS[2].isoformat()}


def listing_with_broken_days(request: Request) -> Reply:
    if request.query.get("date") in BROKEN:
        return Reply(503, b"down", {"Content-Type": "text/plain"})
    return daily_papers(week_of_listings())(request)


async def test_digest_run_alerts_the_admin_when_a_day_fails(
    db: Database, database_url: str, smtp: SmtpServer
) -> None:
    with serving(listing_with_broken_days) as listing:
        digest = Digest(
            digest_env(
                database_url,
                smtp,
                listing_url=listing.url,
                public_url=None,
                http_retries="0",
                admin_email="ops@example.org",
            )
        )
        good = await asyncio.to_thread(digest, "run", "--date", WEEKDAYS[0].isoformat())
        dry = await asyncio.to_thread(digest, "run", "--date", WEEKDAYS[1].isoformat(), "--dry-run")
        assert (good.exit_code, dry.exit_code) == (0, 1)
        assert smtp.received == []  # neither a good run nor a dry run alerts anybody

        failed = await asyncio.to_thread(digest, "run", "--date", WEEKDAYS[1].isoformat())

    assert failed.exit_code == 1
    [alert] = smtp.received
    assert alert.rcpt_tos == ("ops@example.org",)
    assert alert.message["Subject"] == "Paper Digest: the run for Tue 9 Jun 2026 failed"
    text = alert.message.get_body(("plain",)).get_content()
    assert "HTTP 503" in text
    assert "digest run --date 2026-06-09" in text


async def test_one_alert_names_every_day_that_failed_in_a_catch_up(
    db: Database, database_url: str, smtp: SmtpServer
) -> None:
    clock = FakeClock(dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC))
    with serving(listing_with_broken_days) as listing:
        app = service_app(database_url, smtp, listing.url, clock, admin_email="ops@example.org")
        async with app.source() as source:
            daily = await pipeline.run_and_send(
                WEEKDAYS,
                db=app.db,
                source=source,
                sender=None,
                timetable=app.timetable,
                clock=clock,
            )
        assert await alerts.alert_failed_runs(app, daily.runs)
        await app.close()

    assert [run.status for run in daily.runs] == [
        "nothing_new",
        "failed",
        "failed",
        "nothing_new",
        "nothing_new",
    ]
    [alert] = smtp.received
    text = alert.message.get_body(("plain",)).get_content()
    assert alert.message["Subject"] == "Paper Digest: the run for Wed 10 Jun 2026 failed"
    assert "These days failed too: 2026-06-09." in text
