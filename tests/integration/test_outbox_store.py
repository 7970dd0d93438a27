"""The outbox's store functions on both databases: claims, leases, hand-backs, and SKIP LOCKED."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.db import Database
from digest.models import DeliveryStatus
from digest.store import deliveries
from tests.support.outbox import START, delivery, seed

LATER = START + dt.timedelta(seconds=1)


def _ids(prefix: str):  # type: ignore[no-untyped-def]
    counter = iter(range(1000))
    return lambda: f"<{prefix}.{next(counter)}@example.org>"


async def test_a_lapsed_claim_goes_back_and_keeps_its_message_id(db: Database) -> None:
    [delivery_id] = (await seed(db, ["ada@example.org"], START)).values()
    async with db.transaction() as session:
        [claimed] = await deliveries.claim_due(session, START, 10, "dead", _ids("first"))
    assert (claimed.attempts, claimed.claimed_by) == (1, "dead")
    assert claimed.first_attempt_at == START

    async with db.transaction() as session:
        assert await deliveries.release_stale(session, START, LATER) == 0  # still leased
        assert await deliveries.release_stale(session, LATER, LATER) == 1
    back = await delivery(db, delivery_id)
    assert (back.status, back.attempts, back.next_attempt_at) == (DeliveryStatus.PENDING, 1, LATER)
    assert back.claimed_by is None

    async with db.transaction() as session:
        [again] = await deliveries.claim_due(session, LATER, 10, "alive", _ids("second"))
    assert again.attempts == 2
    assert again.message_id == claimed.message_id == "<first.0@example.org>"
    assert again.first_attempt_at == START  # retries are bounded from the first attempt

    async with db.transaction() as session:
        # The dead sender's late word does not count; the holder's does.
        assert await deliveries.mark_sent(session, [delivery_id], "dead", LATER) == 0
        assert await deliveries.mark_sent(session, [delivery_id], "alive", LATER) == 1
    assert (await delivery(db, delivery_id)).status is DeliveryStatus.SENT


async def test_a_hand_back_counts_no_attempt(db: Database) -> None:
    [delivery_id] = (await seed(db, ["ada@example.org"], START)).values()
    async with db.transaction() as session:
        await deliveries.claim_due(session, START, 10, "me", _ids("m"))
    async with db.transaction() as session:
        assert await deliveries.release(session, [delivery_id], "someone else") == 0
        assert await deliveries.release(session, [delivery_id], "me") == 1
    back = await delivery(db, delivery_id)
    assert (back.status, back.attempts, back.first_attempt_at) == (DeliveryStatus.PENDING, 0, None)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_skip_locked_gives_concurrent_claims_different_deliveries(db: Database) -> None:
    addresses = [f"reader{n}@example.org" for n in range(5)]
    ids = await seed(db, addresses, START)
    async with db.transaction() as first:
        mine = await deliveries.claim_due(first, START, 2, "a", _ids("a"))
        # A second sender claims while the first transaction still holds its rows.
        async with db.transaction() as second:
            theirs = await deliveries.claim_due(second, START, 10, "b", _ids("b"))
    assert len(mine) == 2
    assert len(theirs) == 3
    assert {d.id for d in mine} | {d.id for d in theirs} == set(ids.values())
    assert not {d.id for d in mine} & {d.id for d in theirs}
