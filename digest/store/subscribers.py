"""Queries on the subscribers and queries tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Query, Subscriber, SubscriberStatus


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
