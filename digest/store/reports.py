"""Read-only queries behind the admin's listings and figures (``digest deliveries``,
``digest stats``, ``digest subscribers show``, ``digest send-test``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import (
    Delivery,
    DeliveryPaper,
    DeliveryStatus,
    Paper,
    Run,
    Subscriber,
    SubscriberStatus,
)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery as ``digest deliveries`` lists it."""

    id: int
    email: str
    status: DeliveryStatus
    papers: int
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None


async def deliveries(
    session: AsyncSession,
    *,
    subscriber_id: int | None = None,
    status: DeliveryStatus | None = None,
    since: dt.datetime | None = None,
    limit: int | None = None,
) -> list[DeliveryRow]:
    """Deliveries, newest first, with how many papers each carries; every filter is optional.

    ``since`` keeps those created at or after that time; ``limit`` None means all.
    """
    paper_counts = (
        select(DeliveryPaper.delivery_id, func.count().label("papers"))
        .group_by(DeliveryPaper.delivery_id)
        .subquery()
    )
    statement = (
        select(
            Delivery.id,
            Subscriber.email,
            Delivery.status,
            func.coalesce(paper_counts.c.papers, 0),
            Delivery.attempts,
            Delivery.created_at,
            Delivery.sent_at,
            Delivery.last_error,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(paper_counts, paper_counts.c.delivery_id == Delivery.id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    if subscriber_id is not None:
        statement = statement.where(Delivery.subscriber_id == subscriber_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if since is not None:
        statement = statement.where(Delivery.created_at >= since)
    return [DeliveryRow(*row) for row in await session.execute(statement)]


async def subscriber_counts(session: AsyncSession) -> dict[SubscriberStatus, int]:
    """How many subscribers have each status (every status present, zero included)."""
    rows = await session.execute(
        select(Subscriber.status, func.count()).group_by(Subscriber.status)
    )
    counts = dict.fromkeys(SubscriberStatus, 0)
    counts.update(dict(rows.all()))
    return counts


@dataclass(frozen=True, slots=True)
class EmailCounts:
    sent: int
    failed: int


async def email_counts(
    session: AsyncSession, windows: Mapping[str, dt.datetime]
) -> dict[str, EmailCounts]:
    """For each named window (its start time), the deliveries sent and failed since then."""
    columns = []
    for start in windows.values():
        columns.append(func.count(Delivery.sent_at).filter(Delivery.sent_at >= start))
        columns.append(func.count(Delivery.failed_at).filter(Delivery.failed_at >= start))
    earliest = min(windows.values())
    statement = select(*columns).where(
        (Delivery.sent_at >= earliest) | (Delivery.failed_at >= earliest)
    )
    row = (await session.execute(statement)).one()
    return {
        name: EmailCounts(sent=row[2 * i], failed=row[2 * i + 1]) for i, name in enumerate(windows)
    }


async def last_run(session: AsyncSession) -> Run | None:
    """The run started most recently, finished or not."""
    return await session.scalar(select(Run).order_by(Run.id.desc()).limit(1))


@dataclass(frozen=True, slots=True)
class History:
    """What one subscriber has been sent."""

    deliveries: dict[DeliveryStatus, int]
    papers_sent: int
    last_sent_at: dt.datetime | None


async def subscriber_history(session: AsyncSession, subscriber_id: int) -> History:
    """The subscriber's deliveries by status, the papers in the sent ones, the last send."""
    by_status = dict.fromkeys(DeliveryStatus, 0)
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.subscriber_id == subscriber_id)
        .group_by(Delivery.status)
    )
    by_status.update(dict(rows.all()))
    papers_sent = await session.scalar(
        select(func.count())
        .select_from(DeliveryPaper)
        .join(Delivery, Delivery.id == DeliveryPaper.delivery_id)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.status == DeliveryStatus.SENT)
    )
    last_sent_at = await session.scalar(
        select(func.max(Delivery.sent_at)).where(Delivery.subscriber_id == subscriber_id)
    )
    return History(by_status, papers_sent or 0, last_sent_at)


async def latest_papers(session: AsyncSession, limit: int) -> list[Paper]:
    """The most upvoted papers of the latest listing day stored (none when no paper is)."""
    latest_day = await session.scalar(select(func.max(Paper.listed_on)))
    if latest_day is None:
        return []
    return list(
        await session.scalars(
            select(Paper)
            .where(Paper.listed_on == latest_day)
            .order_by(Paper.upvotes.desc(), Paper.id)
            .limit(limit)
        )
    )
