"""Queries on the outbox (deliveries) and the ledger (delivery_papers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from digest.matching import Match
from digest.models import Delivery, DeliveryPaper, DeliveryStatus


async def already_delivered(
    session: AsyncSession, subscriber_ids: Iterable[int], paper_ids: Iterable[str]
) -> set[tuple[int, str]]:
    """The (subscriber, paper) pairs among these that are already in the ledger."""
    subscriber_ids, paper_ids = list(subscriber_ids), list(paper_ids)
    if not subscriber_ids or not paper_ids:
        return set()
    rows = await session.execute(
        select(DeliveryPaper.subscriber_id, DeliveryPaper.paper_id).where(
            DeliveryPaper.subscriber_id.in_(subscriber_ids), DeliveryPaper.paper_id.in_(paper_ids)
        )
    )
    return {(subscriber_id, paper_id) for subscriber_id, paper_id in rows}


async def enqueue(
    session: AsyncSession,
    subscriber_id: int,
    matches: Sequence[Match],
    run_id: int | None,
    now: dt.datetime,
) -> int:
    """Put these papers in the subscriber's outbox and the ledger; returns the delivery id.

    Papers join the subscriber's delivery that is still waiting for its first
    attempt, if there is one (so days caught up together make one email);
    otherwise a new delivery is created. The ledger's unique (subscriber, paper)
    key refuses a paper the subscriber was already given.
    """
    delivery_id = await session.scalar(
        select(Delivery.id)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempts == 0,
        )
        .order_by(Delivery.id.desc())
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if delivery_id is None:
        delivery_id = await session.scalar(
            insert(Delivery)
            .values(
                subscriber_id=subscriber_id,
                run_id=run_id,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(Delivery.id)
        )
        assert delivery_id is not None
    await session.execute(
        insert(DeliveryPaper),
        [
            {
                "delivery_id": delivery_id,
                "subscriber_id": subscriber_id,
                "paper_id": match.paper_id,
                "score": match.score,
                "matched_queries": list(match.queries),
            }
            for match in matches
        ],
    )
    return delivery_id


async def claim_due(session: AsyncSession, now: dt.datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for sending: they become ``sending``.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several senders claim side by
    side without ever taking the same delivery.
    """
    claimed = list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Delivery)
        )
    )
    for delivery in claimed:
        delivery.status = DeliveryStatus.SENDING
        delivery.claimed_at = now
        delivery.attempts += 1
    await session.flush()
    return claimed


async def mark_sent(
    session: AsyncSession, delivery_id: int, message_id: str, now: dt.datetime
) -> None:
    """Record that the SMTP server accepted the delivery's message."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.SENT, message_id=message_id, sent_at=now, last_error=None)
    )


async def retry_later(
    session: AsyncSession, delivery_id: int, error: str, when: dt.datetime
) -> None:
    """Put a delivery back in the queue, due at ``when``."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.PENDING, last_error=error, next_attempt_at=when)
    )


async def mark_failed(
    session: AsyncSession, delivery_id: int, error: str, now: dt.datetime
) -> None:
    """Give up on a delivery for good."""
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.FAILED, last_error=error, failed_at=now)
    )
