"""Queries on the subscribers and queries tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Cadence, Query, Subscriber, SubscriberStatus
from digest.store._dialect import insert


async def get_by_email(session: AsyncSession, email: str) -> Subscriber | None:
    """The subscriber with this (normalised) address, with their queries."""
    return await session.scalar(select(Subscriber).where(Subscriber.email == email))


async def add(
    session: AsyncSession,
    email: str,
    queries: Sequence[str],
    status: SubscriberStatus,
    now: dt.datetime,
) -> Subscriber:
    """Insert a subscriber and their queries."""
    subscriber = Subscriber(
        email=email,
        status=status,
        created_at=now,
        confirmed_at=now if status is SubscriberStatus.ACTIVE else None,
        queries=[Query(text=text, created_at=now) for text in queries],
    )
    session.add(subscriber)
    await session.flush()
    return subscriber


async def list_all(session: AsyncSession) -> list[Subscriber]:
    """Every subscriber, oldest first, with their queries."""
    return list(await session.scalars(select(Subscriber).order_by(Subscriber.id)))


async def delete_by_email(session: AsyncSession, email: str) -> bool:
    """Delete a subscriber with their queries and delivery history; False if there was none."""
    result = await session.execute(delete(Subscriber).where(Subscriber.email == email))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def active_queries(session: AsyncSession) -> dict[int, list[str]]:
    """The query texts of every active subscriber, by subscriber id."""
    rows = await session.execute(
        select(Query.subscriber_id, Query.text)
        .join(Subscriber)
        .where(Subscriber.status == SubscriberStatus.ACTIVE)
        .order_by(Query.subscriber_id, Query.id)
    )
    queries: dict[int, list[str]] = {}
    for subscriber_id, text in rows:
        queries.setdefault(subscriber_id, []).append(text)
    return queries


async def emails_by_id(session: AsyncSession, subscriber_ids: Sequence[int]) -> dict[int, str]:
    """The addresses of these subscribers, by id."""
    if not subscriber_ids:
        return {}
    rows = await session.execute(
        select(Subscriber.id, Subscriber.email).where(Subscriber.id.in_(subscriber_ids))
    )
    return {row.id: row.email for row in rows}


# --- Subscriber-facing changes (the web pages); each is one statement whose WHERE clause
# --- states the precondition, so concurrent requests and processes cannot both win.


async def get_by_id(
    session: AsyncSession, subscriber_id: int, *, lock: bool = False
) -> Subscriber | None:
    """The subscriber with this id, with their queries; with ``lock``, their row stays
    locked until the transaction ends (PostgreSQL; SQLite serialises writers anyway)."""
    return await session.get(
        Subscriber, subscriber_id, populate_existing=True, with_for_update=lock
    )


async def add_pending(
    session: AsyncSession, email: str, queries: Sequence[str], now: dt.datetime
) -> Subscriber:
    """The subscriber with this address, inserted as a pending sign-up with these queries
    if there is none. Two sign-ups racing for a new address both end with the one row."""
    inserted = await session.scalar(
        insert(session, Subscriber.__table__)
        .values(
            email=email,
            status=SubscriberStatus.PENDING,
            cadence=Cadence.DAILY,
            bounce_count=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(Subscriber.__table__.c.id)
    )
    if inserted is not None:
        session.add_all(
            Query(subscriber_id=inserted, text=text, created_at=now) for text in queries
        )
        await session.flush()
    subscriber = await session.scalar(
        select(Subscriber)
        .where(Subscriber.email == email)
        .execution_options(populate_existing=True)
    )
    assert subscriber is not None
    return subscriber


async def claim_notice_slot(
    session: AsyncSession, subscriber_id: int, now: dt.datetime, interval: dt.timedelta
) -> bool:
    """Record that a subscription email goes to this subscriber now, unless one went less
    than ``interval`` ago; True when this call may send it. Atomic across processes."""
    result = await session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber_id,
            or_(
                Subscriber.confirmation_sent_at.is_(None),
                Subscriber.confirmation_sent_at <= now - interval,
            ),
        )
        .values(confirmation_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_notice_slot(
    session: AsyncSession,
    subscriber_id: int,
    claimed_at: dt.datetime,
    previous: dt.datetime | None,
) -> None:
    """Undo ``claim_notice_slot`` after the email could not be sent, unless another
    request has claimed the slot since."""
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, Subscriber.confirmation_sent_at == claimed_at)
        .values(confirmation_sent_at=previous)
        .execution_options(synchronize_session=False)
    )


async def replace_queries(
    session: AsyncSession, subscriber: Subscriber, queries: Sequence[str], now: dt.datetime
) -> None:
    """Give the subscriber exactly these queries (old rows are deleted first, so a query
    kept from before does not collide with itself on the unique key)."""
    await session.execute(delete(Query).where(Query.subscriber_id == subscriber.id))
    session.add_all(
        Query(subscriber_id=subscriber.id, text=text, created_at=now) for text in queries
    )
    await session.flush()
    await session.refresh(subscriber, ["queries"])


async def reopen(session: AsyncSession, subscriber: Subscriber) -> None:
    """Turn a former subscriber (unsubscribed or bounced) into a pending sign-up again."""
    subscriber.status = SubscriberStatus.PENDING
    subscriber.confirmed_at = None
    await session.flush()


async def transition(
    session: AsyncSession,
    subscriber: Subscriber,
    from_statuses: Sequence[SubscriberStatus],
    to_status: SubscriberStatus,
    now: dt.datetime,
) -> bool:
    """Move the subscriber to ``to_status`` if they are in one of ``from_statuses`` and
    still have the same address; True when this call made the change."""
    values: dict[str, object] = {"status": to_status}
    if to_status is SubscriberStatus.ACTIVE and SubscriberStatus.PENDING in from_statuses:
        values["confirmed_at"] = now
    if to_status is SubscriberStatus.UNSUBSCRIBED:
        values["unsubscribed_at"] = now
    result = await session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber.id,
            Subscriber.email == subscriber.email,
            Subscriber.status.in_(from_statuses),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if changed:
        await session.refresh(subscriber)
    return changed


async def set_cadence(session: AsyncSession, subscriber: Subscriber, cadence: Cadence) -> None:
    """Change how often the subscriber gets a digest."""
    subscriber.cadence = cadence
    await session.flush()


async def purge_pending(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Delete sign-ups still pending whose last confirmation email was sent (or, if none
    was, that were made) before ``cutoff``; their links have expired. The count deleted."""
    result = await session.execute(
        delete(Subscriber)
        .where(
            Subscriber.status == SubscriberStatus.PENDING,
            func.coalesce(Subscriber.confirmation_sent_at, Subscriber.created_at) < cutoff,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
