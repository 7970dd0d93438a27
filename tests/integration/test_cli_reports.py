"""``digest runs``, ``digest deliveries`` and ``digest stats`` on both databases.

The history they report is written with the store's own functions at chosen
times (the pipeline's way of writing it), so the windows of ``stats`` are exact.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from digest.clock import utcnow
from digest.db import Database
from digest.matching import Match
from digest.models import RunStatus, SubscriberStatus
from digest.sources.hf_daily import parse_api_items
from digest.store import deliveries, papers, runs, subscribers
from tests.conftest import hf_fixture
from tests.support.cli import Digest, migrated
from tests.support.db_state import snapshot

DAY = dt.date(2026, 6, 12)
NOW = utcnow()


@pytest.fixture
def digest(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Digest:
    monkeypatch.chdir(tmp_path)
    return migrated({"DIGEST_DATABASE_URL": database_url})


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def seed(database_url: str) -> None:
    """Four subscribers, three runs, and deliveries sent or failed at known ages."""

    async def write() -> None:
        db = Database.from_url(database_url)
        try:
            async with db.transaction() as session:
                records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)
                await papers.upsert_papers(session, records, "api", ago(days=41))
                ids = [record.arxiv_id for record in records]
                people = {}
                for email, status in [
                    ("ada@example.org", SubscriberStatus.ACTIVE),
                    ("bob@example.org", SubscriberStatus.ACTIVE),
                    ("carol@example.org", SubscriberStatus.PAUSED),
                    ("dave@example.org", SubscriberStatus.UNSUBSCRIBED),
                ]:
                    people[email] = await subscribers.add(
                        session, email, ["LLM"], status, ago(days=50)
                    )
                for day, status, error, age in [
                    (DAY, RunStatus.SENT, None, 3),
                    (DAY + dt.timedelta(days=1), RunStatus.NO_LISTING, None, 2),
                    (DAY + dt.timedelta(days=2), RunStatus.FAILED, "listing answered 500", 1),
                ]:
                    run = await runs.start(session, day, ago(days=age))
                    await runs.finish(
                        session,
                        run.id,
                        ago(days=age) + dt.timedelta(seconds=2.5),
                        status=status,
                        error=error,
                        papers_fetched=30 if status is RunStatus.SENT else 0,
                    )

                async def delivery(email: str, paper_ids: list[str], created: dt.datetime) -> int:
                    matches = [Match(paper_id, ("LLM",), 1.0) for paper_id in paper_ids]
                    subscriber_id = people[email].id
                    return await deliveries.enqueue(session, subscriber_id, matches, None, created)

                # ada: sent 2 hours, 3 days, 20 and 40 days ago; one still pending.
                async def claim(at: dt.datetime) -> None:
                    await deliveries.claim_due(session, at, 10, "seed", lambda: "<seed@x>")

                for paper, age in [(0, 2 / 24), (1, 3), (2, 20), (3, 40)]:
                    sent = await delivery("ada@example.org", [ids[paper]], ago(days=age + 0.01))
                    await claim(ago(days=age))
                    await deliveries.mark_sent(session, [sent], "seed", ago(days=age))
                await delivery("ada@example.org", ids[4:7], ago(minutes=5))
                # bob: one failed five days ago.
                failed = await delivery("bob@example.org", ids[7:9], ago(days=5.01))
                await claim(ago(days=5))
                bounce = deliveries.Failure(failed, "550 no such user", bounce=True)
                await deliveries.mark_failed(session, [bounce], "seed", ago(days=5), 3)
        finally:
            await db.dispose()

    asyncio.run(write())


def as_json(digest: Digest, *args: str) -> Any:
    result = digest(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_runs_lists_the_latest_first(digest: Digest, database_url: str) -> None:
    assert as_json(digest, "runs") == []
    seed(database_url)

    listed = as_json(digest, "runs")

    assert [(run["day"], run["status"], run["error"]) for run in listed] == [
        ("2026-06-14", "failed", "listing answered 500"),
        ("2026-06-13", "no_listing", None),
        ("2026-06-12", "sent", None),
    ]
    assert listed[2]["seconds"] == 2.5
    assert listed[2]["papers_fetched"] == 30
    assert len(as_json(digest, "runs", "--limit", "2")) == 2

    plain = digest("runs", "-n", "1")
    [line] = plain.stdout.splitlines()
    fields = line.split("\t")
    assert fields[1:3] == ["2026-06-14", "failed"]
    assert fields[-1] == "listing answered 500"


def test_deliveries_filters_by_email_status_and_day(digest: Digest, database_url: str) -> None:
    seed(database_url)

    everything = as_json(digest, "deliveries")
    assert [(row["email"], row["status"], row["papers"]) for row in everything] == [
        ("ada@example.org", "pending", 3),
        ("ada@example.org", "sent", 1),
        ("ada@example.org", "sent", 1),
        ("bob@example.org", "failed", 2),
        ("ada@example.org", "sent", 1),
        ("ada@example.org", "sent", 1),
    ]

    [failed] = as_json(digest, "deliveries", "--status", "failed")
    assert (failed["email"], failed["last_error"]) == ("bob@example.org", "550 no such user")
    assert len(as_json(digest, "deliveries", "--email", "BOB@example.org")) == 1
    since = (NOW - dt.timedelta(days=10)).date().isoformat()
    assert len(as_json(digest, "deliveries", "--since", since)) == 4
    assert len(as_json(digest, "deliveries", "--limit", "2")) == 2
    assert len(as_json(digest, "deliveries", "--limit", "0")) == 6

    plain = digest("deliveries", "--status", "failed")
    assert plain.stdout.split("\t")[1:4] == ["bob@example.org", "failed", "2"]


def test_deliveries_refuses_bad_filters(digest: Digest, database_url: str) -> None:
    seed(database_url)
    before = snapshot(database_url)
    for args, message in [
        (["--email", "nobody@example.org"], "no subscriber nobody@example.org"),
        (["--email", "nobody"], "invalid email address 'nobody'"),
        (["--status", "lost"], "Invalid value for '--status'"),
        (["--since", "last week"], "Invalid value for '--since'"),
        (["--limit", "-1"], "Invalid value for '-n' / '--limit'"),
    ]:
        result = digest("deliveries", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"digest: error: {message}"), (args, result.stderr)
        assert result.stderr.count("\n") == 1
    assert snapshot(database_url) == before


def test_stats_counts_subscribers_emails_by_window_and_the_last_run(
    digest: Digest, database_url: str
) -> None:
    empty = as_json(digest, "stats")
    assert empty["subscribers"]["total"] == 0
    assert empty["last_run"] is None
    seed(database_url)

    figures = as_json(digest, "stats")

    assert figures["subscribers"] == {
        "pending": 0,
        "active": 2,
        "paused": 1,
        "unsubscribed": 1,
        "bounced": 0,
        "total": 4,
    }
    assert figures["emails"] == {
        "1d": {"sent": 1, "failed": 0},
        "7d": {"sent": 2, "failed": 1},
        "30d": {"sent": 3, "failed": 1},
    }
    last = figures["last_run"]
    assert (last["day"], last["status"], last["error"]) == (
        "2026-06-14",
        "failed",
        "listing answered 500",
    )

    plain = digest("stats").stdout.splitlines()
    assert "subscribers.active\t2" in plain
    assert "emails.7d.failed\t1" in plain
    assert "last_run.status\tfailed" in plain
