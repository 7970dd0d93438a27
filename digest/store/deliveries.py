"""Queries on the outbox (deliveries) and the ledger (delivery_papers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, Update, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from digest.matching import Match
from digest.models import (
    Delivery,
    DeliveryPaper,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    UtcDateTime,
)

_deliveries = cast(Table, Delivery.__table__)
_subscribers = cast(Table, Subscriber.__table__)


async def already_delivered(
    session: AsyncSession, subscriber_ids: Iterable[int], paper_ids: Iterable[str]
) -> set[tuple[int, str]]:
    """The (subscriber, paper) pairs among these that are already in the ledger.

    Only the papers go into the query: a day lists a few dozen, while the
    subscribers can be a hundred thousand, past what one statement may bind.
    """
    wanted, paper_ids = set(subscriber_ids), list(paper_ids)
    if not wanted or not paper_ids:
        return set()
    rows = await session.execute(
        select(DeliveryPaper.subscriber_id, DeliveryPaper.paper_id).where(
            DeliveryPaper.paper_id.in_(paper_ids)
        )
    )
    return {
        (subscriber_id, paper_id) for subscriber_id, paper_id in rows if subscriber_id in wanted
    }


@dataclass(frozen=True, slots=True)
class Queued:
    """What one subscriber is to be sent: these papers, in a digest due at ``due_at``."""

    matches: Sequence[Match]
    due_at: dt.datetime


# Subscribers looked up per statement: well under the 32,767 parameters PostgreSQL binds.
_LOOKUP_CHUNK = 10_000


async def enqueue_many(
    session: AsyncSession, queued: Mapping[int, Queued], run_id: int | None, now: dt.datetime
) -> dict[int, int]:
    """Put each subscriber's papers in their outbox and in the ledger, in a few
    statements for all of them; returns each subscriber's delivery id.

    Papers join the subscriber's delivery that is still waiting for its first
    attempt, if there is one (so days caught up together make one email, and a weekly
    digest collects a week of papers); otherwise a new delivery is created, due at
    ``due_at``. A waiting delivery due later than ``due_at`` becomes due then (a
    subscriber who went from weekly to daily gets their papers with the next run). The
    ledger's unique (subscriber, paper) key refuses a paper a subscriber was already
    given.
    """
    if not queued:
        return {}
    waiting = await _waiting_deliveries(session, list(queued))
    created = [subscriber_id for subscriber_id in queued if subscriber_id not in waiting]
    delivery_ids = {
        subscriber_id: delivery_id for subscriber_id, (delivery_id, _) in waiting.items()
    }
    if created:
        rows = await session.execute(
            insert(Delivery).returning(
                Delivery.subscriber_id, Delivery.id, sort_by_parameter_order=True
            ),
            [
                {
                    "subscriber_id": subscriber_id,
                    "run_id": run_id,
                    "status": DeliveryStatus.PENDING,
                    "next_attempt_at": queued[subscriber_id].due_at,
                    "created_at": now,
                }
                for subscriber_id in created
            ],
        )
        delivery_ids.update((subscriber_id, delivery_id) for subscriber_id, delivery_id in rows)
    sooner = [
        {"b_id": delivery_id, "b_due": queued[subscriber_id].due_at}
        for subscriber_id, (delivery_id, due) in waiting.items()
        if queued[subscriber_id].due_at < due
    ]
    if sooner:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == bindparam("b_id"))
            .values(next_attempt_at=bindparam("b_due"))
            .execution_options(synchronize_session=False),
            sooner,
        )
    await session.execute(
        insert(DeliveryPaper),
        [
            {
                "delivery_id": delivery_ids[subscriber_id],
                "subscriber_id": subscriber_id,
                "paper_id": match.paper_id,
                "score": match.score,
                "matched_queries": list(match.queries),
            }
            for subscriber_id, entry in queued.items()
            for match in entry.matches
        ],
    )
    return delivery_ids


async def _waiting_deliveries(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> dict[int, tuple[int, dt.datetime]]:
    """Each subscriber's newest delivery still waiting for its first attempt, with its
    due time, locked (PostgreSQL) so a sender cannot claim it while papers join it."""
    waiting: dict[int, tuple[int, dt.datetime]] = {}
    for start in range(0, len(subscriber_ids), _LOOKUP_CHUNK):
        rows = await session.execute(
            select(Delivery.subscriber_id, Delivery.id, Delivery.next_attempt_at)
            .where(
                Delivery.subscriber_id.in_(subscriber_ids[start : start + _LOOKUP_CHUNK]),
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.attempts == 0,
            )
            .order_by(Delivery.id)
            .with_for_update(skip_locked=True)
        )
        for subscriber_id, delivery_id, due in rows:
            waiting[subscriber_id] = (delivery_id, due)  # ordered by id: the newest wins
    return waiting


async def enqueue(
    session: AsyncSession,
    subscriber_id: int,
    matches: Sequence[Match],
    run_id: int | None,
    now: dt.datetime,
    due_at: dt.datetime | None = None,
) -> int:
    """``enqueue_many`` for one subscriber; returns the delivery id."""
    queued = {subscriber_id: Queued(matches, due_at or now)}
    return (await enqueue_many(session, queued, run_id, now))[subscriber_id]


async def release_held(session: AsyncSession, now: dt.datetime, held_until: dt.datetime) -> int:
    """Make due now the deliveries not tried yet that are due after ``now`` and no later
    than ``held_until``: those a catch-up held back while it added more days to them
    (weekly digests due later stay as they are). Returns how many."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempts == 0,
            Delivery.next_attempt_at > now,
            Delivery.next_attempt_at <= held_until,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession,
    now: dt.datetime,
    limit: int,
    claimed_by: str,
    new_message_id: Callable[[], str],
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries of active subscribers for sending.

    They become ``sending``, claimed by ``claimed_by`` at ``now``, with one more
    attempt counted; each gets its Message-ID on its first claim, so a message
    sent again (after a crash or a retry) carries the same one. On PostgreSQL,
    ``FOR UPDATE SKIP LOCKED`` lets several senders claim side by side without
    ever taking the same delivery. Deliveries of subscribers who are not active
    (bounced, paused, unsubscribed) wait, unclaimed.
    """
    ids = list(
        await session.scalars(
            select(Delivery.id)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
                Subscriber.status == SubscriberStatus.ACTIVE,
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Delivery)
        )
    )
    if not ids:
        return []
    ids = list(
        await session.scalars(
            update(Delivery)
            # Still pending: on SQLite the read above and this write are not one snapshot.
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
            .values(
                status=DeliveryStatus.SENDING,
                claimed_at=now,
                claimed_by=claimed_by,
                attempts=Delivery.attempts + 1,
                first_attempt_at=func.coalesce(Delivery.first_attempt_at, now),
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not ids:
        return []
    claimed = list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(ids))
            .order_by(Delivery.next_attempt_at, Delivery.id)
            # Each paper once per claim, not once per (delivery, paper) row: a day's
            # papers are shared by most digests.
            .options(selectinload(Delivery.papers).selectinload(DeliveryPaper.paper))
            .execution_options(populate_existing=True)
        )
    )
    for delivery in claimed:
        if delivery.message_id is None:
            delivery.message_id = new_message_id()
    await session.flush()
    return claimed


def _update_still_claimed(delivery_ids: Sequence[int], claimed_by: str) -> Update:
    """An UPDATE of these deliveries that touches only those ``claimed_by`` still holds:
    a claim taken over after its lease ran out belongs to the other sender now."""
    return update(Delivery).where(
        Delivery.id.in_(delivery_ids),
        Delivery.status == DeliveryStatus.SENDING,
        Delivery.claimed_by == claimed_by,
    )


def _update_each_still_claimed(claimed_by: str) -> Update:
    """An UPDATE of the delivery bound as ``b_id`` (one per parameter set, so each row gets
    its own values) that touches it only while ``claimed_by`` still holds it: a claim
    taken over after its lease ran out belongs to the other sender now."""
    return _deliveries.update().where(
        _deliveries.c.id == bindparam("b_id"),
        _deliveries.c.status == DeliveryStatus.SENDING.value,
        _deliveries.c.claimed_by == claimed_by,
    )


async def mark_sent(
    session: AsyncSession, delivery_ids: Sequence[int], claimed_by: str, now: dt.datetime
) -> int:
    """Record that the SMTP server accepted these deliveries' messages; returns how many
    were still held by ``claimed_by`` (a claim taken over after its lease ran out is not
    touched). A success ends the subscriber's run of bounces."""
    if not delivery_ids:
        return 0
    result = await session.execute(
        _update_still_claimed(delivery_ids, claimed_by)
        .values(status=DeliveryStatus.SENT, sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Subscriber)
        .where(
            Subscriber.bounce_count > 0,
            Subscriber.id.in_(select(Delivery.subscriber_id).where(Delivery.id.in_(delivery_ids))),
        )
        .values(bounce_count=0)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Retry:
    delivery_id: int
    error: str
    when: dt.datetime


async def retry_later(session: AsyncSession, retries: Sequence[Retry], claimed_by: str) -> None:
    """Put deliveries back in the queue, each due at its ``when``, with the error kept."""
    if not retries:
        return
    await session.execute(
        _update_each_still_claimed(claimed_by).values(
            status=DeliveryStatus.PENDING.value,
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_when", type_=UtcDateTime()),
            claimed_by=None,
        ),
        [{"b_id": r.delivery_id, "b_error": r.error, "b_when": r.when} for r in retries],
    )


@dataclass(frozen=True, slots=True)
class Failure:
    delivery_id: int
    error: str
    bounce: bool  # the server refused the recipient for good: counts towards 'bounced'


async def mark_failed(
    session: AsyncSession,
    failures: Sequence[Failure],
    claimed_by: str,
    now: dt.datetime,
    max_bounces: int,
) -> list[int]:
    """Give up on these deliveries for good. Each bounce adds one to its subscriber's
    bounce count; returns the subscribers who reached ``max_bounces`` and are now
    ``bounced`` (they get nothing more until resumed)."""
    if not failures:
        return []
    await session.execute(
        _update_each_still_claimed(claimed_by).values(
            status=DeliveryStatus.FAILED.value,
            last_error=bindparam("b_error"),
            failed_at=now,
            claimed_by=None,
        ),
        [{"b_id": f.delivery_id, "b_error": f.error} for f in failures],
    )
    bounced_ids = [f.delivery_id for f in failures if f.bounce]
    if not bounced_ids:
        return []
    subscriber_ids = list(
        await session.scalars(select(Delivery.subscriber_id).where(Delivery.id.in_(bounced_ids)))
    )
    await session.execute(
        _subscribers.update()
        .where(_subscribers.c.id == bindparam("b_id"))
        .values(bounce_count=_subscribers.c.bounce_count + 1),
        [{"b_id": subscriber_id} for subscriber_id in subscriber_ids],
    )
    return list(
        await session.scalars(
            update(Subscriber)
            .where(
                Subscriber.id.in_(subscriber_ids),
                Subscriber.bounce_count >= max_bounces,
                Subscriber.status == SubscriberStatus.ACTIVE,
            )
            .values(status=SubscriberStatus.BOUNCED)
            .returning(Subscriber.id)
            .execution_options(synchronize_session=False)
        )
    )


async def release(session: AsyncSession, delivery_ids: Sequence[int], claimed_by: str) -> int:
    """Hand claimed deliveries back unsent, as if never claimed: the attempt is not
    counted (the SMTP server was unreachable, or the sender is stopping). Returns how many."""
    if not delivery_ids:
        return 0
    result = await session.execute(
        _update_still_claimed(delivery_ids, claimed_by)
        .values(
            status=DeliveryStatus.PENDING,
            attempts=Delivery.attempts - 1,
            first_attempt_at=case((Delivery.attempts <= 1, None), else_=Delivery.first_attempt_at),
            claimed_at=None,
            claimed_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def release_stale(
    session: AsyncSession, claimed_before: dt.datetime, now: dt.datetime
) -> int:
    """Put back in the queue every delivery left ``sending`` by a claim older than
    ``claimed_before`` (its sender died mid-send); returns how many. Such a message may
    have reached the server before the sender died, so it may arrive twice."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_at < claimed_before)
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            claimed_at=None,
            claimed_by=None,
            last_error="released: its sender stopped while sending it",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def count_by_status(session: AsyncSession) -> dict[DeliveryStatus, int]:
    """How many deliveries are in each state."""
    rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    counts = dict.fromkeys(DeliveryStatus, 0)
    counts.update({DeliveryStatus(status): int(count) for status, count in rows})
    return counts


async def next_due(session: AsyncSession) -> dt.datetime | None:
    """When the earliest pending delivery of an active subscriber is due, if any."""
    return await session.scalar(
        select(func.min(Delivery.next_attempt_at))
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    )
