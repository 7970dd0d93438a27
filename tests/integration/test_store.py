"""The store on both databases: upserts that say what is new, and a ledger that refuses repeats."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from digest.db import Database
from digest.matching import Match
from digest.models import SubscriberStatus
from digest.sources.hf_parse import parse_api_items
from digest.store import deliveries, papers, subscribers
from tests.conftest import hf_fixture

DAY = dt.date(2026, 6, 12)
NOW = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)


async def test_upsert_reports_new_papers_once_and_refreshes_counts(db: Database) -> None:
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)
    async with db.transaction() as session:
        assert len(await papers.upsert_papers(session, records, "api", NOW)) == 30

    later = NOW + dt.timedelta(days=1)
    bumped = [dataclasses.replace(records[0], upvotes=999, listed_on=DAY + dt.timedelta(days=3))]
    async with db.transaction() as session:
        assert await papers.upsert_papers(session, bumped + records[1:], "api", later) == set()
    async with db.transaction() as session:
        [paper] = await papers.papers_by_id(session, [records[0].arxiv_id])
    assert paper.upvotes == 999
    assert paper.listed_on == DAY  # the first listing day stays
    assert paper.first_seen_at == NOW
    assert paper.updated_at == later
    assert paper.authors == list(records[0].authors)


async def test_the_ledger_refuses_a_paper_twice_for_one_subscriber(db: Database) -> None:
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)[:2]
    async with db.transaction() as session:
        await papers.upsert_papers(session, records, "api", NOW)
        ada = await subscribers.add(session, "ada@example.org", ["x"], SubscriberStatus.ACTIVE, NOW)
        bob = await subscribers.add(session, "bob@example.org", ["x"], SubscriberStatus.ACTIVE, NOW)
        match = Match(records[0].arxiv_id, ("x",), 1.0)
        await deliveries.enqueue(session, ada.id, [match], None, NOW)
        await deliveries.enqueue(session, bob.id, [match], None, NOW)  # another subscriber: fine

    # Even code that forgets to check cannot give Ada the same paper again.
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await deliveries.enqueue(session, ada.id, [match], None, NOW)

    async with db.transaction() as session:
        given = await deliveries.already_delivered(session, [ada.id, bob.id], [records[0].arxiv_id])
    assert given == {(ada.id, records[0].arxiv_id), (bob.id, records[0].arxiv_id)}


async def test_enqueue_joins_the_delivery_that_has_not_been_tried_yet(db: Database) -> None:
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)[:2]
    async with db.transaction() as session:
        await papers.upsert_papers(session, records, "api", NOW)
        ada = await subscribers.add(session, "ada@example.org", ["x"], SubscriberStatus.ACTIVE, NOW)
        first = await deliveries.enqueue(
            session, ada.id, [Match(records[0].arxiv_id, ("x",), 1)], None, NOW
        )
        second = await deliveries.enqueue(
            session, ada.id, [Match(records[1].arxiv_id, ("x",), 1)], None, NOW
        )
    assert first == second

    async with db.transaction() as session:
        [claimed] = await deliveries.claim_due(session, NOW, 10, "me", lambda: "<m@example.org>")
    assert {p.paper_id for p in claimed.papers} == {r.arxiv_id for r in records}
    assert claimed.attempts == 1
    assert claimed.message_id == "<m@example.org>"
    async with db.transaction() as session:
        # claimed once only
        assert (
            await deliveries.claim_due(session, NOW, 10, "other", lambda: "<n@example.org>") == []
        )


async def test_the_ledger_lookup_takes_more_subscribers_than_one_statement_can_bind(
    db: Database,
) -> None:
    # PostgreSQL binds at most 32,767 parameters per statement; a daily run asks
    # about every matched subscriber at once.
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)[:1]
    async with db.transaction() as session:
        await papers.upsert_papers(session, records, "api", NOW)
        ada = await subscribers.add(session, "ada@example.org", ["x"], SubscriberStatus.ACTIVE, NOW)
        await deliveries.enqueue(
            session, ada.id, [Match(records[0].arxiv_id, ("x",), 1.0)], None, NOW
        )
    many = [ada.id, *range(100_000, 140_000)]
    async with db.transaction() as session:
        given = await deliveries.already_delivered(session, many, [records[0].arxiv_id])
    assert given == {(ada.id, records[0].arxiv_id)}
