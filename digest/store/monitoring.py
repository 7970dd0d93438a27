"""Read-only queries behind /healthz and /metrics: read at each request, so every
process (and every host) reports the same figures from the one database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Delivery, DeliveryStatus, Run, RunStatus, Subscriber, SubscriberStatus
from digest.store.runs import SUCCESSFUL


async def ping(session: AsyncSession) -> None:
    """A round trip to the database (raises when it cannot be reached)."""
    await session.execute(select(literal(1)))


async def last_run(session: AsyncSession) -> Run | None:
    """The run started most recently, finished or not."""
    return await session.scalar(select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


async def last_success(session: AsyncSession) -> Run | None:
    """The successful run (sent, nothing_new, no_listing) that finished most recently."""
    return await session.scalar(
        select(Run)
        .where(Run.status.in_(SUCCESSFUL), Run.finished_at.is_not(None))
        .order_by(Run.finished_at.desc(), Run.id.desc())
        .limit(1)
    )


async def failed_days(session: AsyncSession, first: dt.date, last: dt.date) -> list[dt.date]:
    """The days from ``first`` to ``last`` that have a failed run and no successful one:
    the days the daily job has still to get right."""
    succeeded = func.count().filter(Run.status.in_(SUCCESSFUL))
    failed = func.count().filter(Run.status == RunStatus.FAILED)
    rows = await session.scalars(
        select(Run.day)
        .where(Run.day >= first, Run.day <= last)
        .group_by(Run.day)
        .having(failed > 0, succeeded == 0)
        .order_by(Run.day)
    )
    return list(rows)


async def runs_by_status(session: AsyncSession) -> dict[RunStatus, int]:
    """How many runs ended (or are) in each status, every status present."""
    counts = dict.fromkeys(RunStatus, 0)
    rows = await session.execute(select(Run.status, func.count()).group_by(Run.status))
    counts.update({RunStatus(status): int(count) for status, count in rows})
    return counts


@dataclass(frozen=True, slots=True)
class EmailTotals:
    sent: int  # deliveries whose message the SMTP server accepted
    failed: int  # deliveries given up on
    retried: int  # attempts after the first, over all deliveries


async def email_totals(session: AsyncSession) -> EmailTotals:
    """Emails sent, failed and retried since the start (of the deliveries still stored)."""
    row = (
        await session.execute(
            select(
                func.count().filter(Delivery.status == DeliveryStatus.SENT),
                func.count().filter(Delivery.status == DeliveryStatus.FAILED),
                func.coalesce(func.sum(Delivery.attempts - 1).filter(Delivery.attempts > 1), 0),
            )
        )
    ).one()
    return EmailTotals(int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    due: int  # pending, due now, of an active subscriber: what the senders have to do
    scheduled: int  # pending but not due yet (a retry later, a weekly digest) or waiting
    # for its subscriber (paused, bounced)
    sending: int  # claimed by a sender


async def outbox_depth(session: AsyncSession, now: dt.datetime) -> OutboxDepth:
    """The deliveries not sent or failed yet, by what they wait for."""
    due = (
        (Delivery.status == DeliveryStatus.PENDING)
        & (Delivery.next_attempt_at <= now)
        & (Subscriber.status == SubscriberStatus.ACTIVE)
    )
    row = (
        await session.execute(
            select(
                func.count().filter(due),
                func.count().filter((Delivery.status == DeliveryStatus.PENDING) & ~due),
                func.count().filter(Delivery.status == DeliveryStatus.SENDING),
            )
            .select_from(Delivery)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            # Only the unfinished ones, through the (status, next_attempt_at) index: the
            # sent history is most of the table.
            .where(Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)))
        )
    ).one()
    return OutboxDepth(int(row[0]), int(row[1]), int(row[2]))
