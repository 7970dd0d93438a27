"""Double clicks and parallel requests, on both databases: each email is due exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt

from digest import subscriptions
from digest.db import Database
from digest.models import SubscriberStatus
from digest.store import subscribers as store
from digest.subscriptions import Notice
from tests.support.web import FakeClock

LIFETIME = dt.timedelta(days=7)
RACERS = 5


async def test_parallel_sign_ups_of_a_new_address_make_one_row_and_one_email(
    db: Database,
) -> None:
    clock = FakeClock()
    outcomes = await asyncio.gather(
        *(
            subscriptions.subscribe(
                db, "ada@example.org", [f"query {n}"], link_lifetime=LIFETIME, clock=clock
            )
            for n in range(RACERS)
        )
    )

    assert [outcome.notice for outcome in outcomes].count(Notice.CONFIRM) == 1
    assert [outcome.notice for outcome in outcomes].count(None) == RACERS - 1
    async with db.transaction() as session:
        [subscriber] = await store.list_all(session)
    assert subscriber.status is SubscriberStatus.PENDING
    winner = next(outcome for outcome in outcomes if outcome.notice)
    # The stored queries are the ones the confirmation email names.
    assert list(subscriber.queries) == [q.text for q in winner.subscriber.queries]


async def test_parallel_confirms_and_unsubscribes_each_make_one_email(db: Database) -> None:
    clock = FakeClock()
    signed_up = await subscriptions.subscribe(
        db, "ada@example.org", ["LLM"], link_lifetime=LIFETIME, clock=clock
    )
    subscriber = signed_up.subscriber

    confirms = await asyncio.gather(
        *(subscriptions.confirm(db, subscriber, clock=clock) for _ in range(RACERS))
    )
    leaves = await asyncio.gather(
        *(subscriptions.unsubscribe(db, subscriber, clock=clock) for _ in range(RACERS))
    )

    assert [outcome.notice for outcome in confirms].count(Notice.WELCOME) == 1
    assert [outcome.notice for outcome in leaves].count(Notice.GOODBYE) == 1
    async with db.transaction() as session:
        stored = await store.get_by_email(session, "ada@example.org")
    assert stored is not None
    assert stored.status is SubscriberStatus.UNSUBSCRIBED
    assert stored.unsubscribed_at == clock.now
    assert stored.confirmed_at == clock.now


async def test_a_returning_subscriber_signs_up_again_with_double_opt_in(db: Database) -> None:
    clock = FakeClock()
    first = await subscriptions.subscribe(
        db, "ada@example.org", ["LLM"], link_lifetime=LIFETIME, clock=clock
    )
    await subscriptions.confirm(db, first.subscriber, clock=clock)
    await subscriptions.unsubscribe(db, first.subscriber, clock=clock)
    clock.advance(minutes=11)

    again = await subscriptions.subscribe(
        db, "ada@example.org", ["diffusion"], link_lifetime=LIFETIME, clock=clock
    )

    assert again.notice is Notice.CONFIRM
    assert again.subscriber.id == first.subscriber.id  # the ledger of papers sent is kept
    assert again.subscriber.status is SubscriberStatus.PENDING
    assert [query.text for query in again.subscriber.queries] == ["diffusion"]
