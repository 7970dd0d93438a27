"""Queries on the runs table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Run, RunStatus


async def start(session: AsyncSession, day: dt.date, now: dt.datetime) -> Run:
    """Record that a run for ``day`` has begun."""
    run = Run(day=day, status=RunStatus.RUNNING, started_at=now)
    session.add(run)
    await session.flush()
    return run


async def finish(session: AsyncSession, run_id: int, now: dt.datetime, **outcome: object) -> None:
    """Record how a run ended: its status, counters and error text (columns of ``runs``)."""
    await session.execute(update(Run).where(Run.id == run_id).values(finished_at=now, **outcome))


async def latest(session: AsyncSession, limit: int) -> list[Run]:
    """The most recent runs, newest first."""
    return list(await session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))


SUCCESSFUL = (RunStatus.SENT, RunStatus.NOTHING_NEW, RunStatus.NO_LISTING)


async def days_with_success(session: AsyncSession, first: dt.date, last: dt.date) -> set[dt.date]:
    """The days from ``first`` to ``last`` (both included) that have a successful run:
    ``sent``, ``nothing_new`` or ``no_listing``. A ``failed`` run, or one left ``running``
    by a process that died, does not count."""
    rows = await session.scalars(
        select(Run.day)
        .where(Run.day >= first, Run.day <= last, Run.status.in_(SUCCESSFUL))
        .distinct()
    )
    return set(rows)


async def earliest_day(session: AsyncSession) -> dt.date | None:
    """The earliest day that was ever run, if any."""
    return await session.scalar(select(func.min(Run.day)))
