"""Queries on a subscriber's bounce state (the counting itself happens in deliveries)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Subscriber, SubscriberStatus


async def resume_bounced(session: AsyncSession, subscriber_id: int) -> bool:
    """Make a ``bounced`` subscriber active again with a clean bounce count (an admin
    fixed their address); their waiting deliveries go out with the next send. Returns
    False when the subscriber is not bounced."""
    result = await session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, Subscriber.status == SubscriberStatus.BOUNCED)
        .values(status=SubscriberStatus.ACTIVE, bounce_count=0)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
