"""Bulk reads and writes for importing many subscribers at once.

Core executemany INSERT/UPDATE statements on the tables, in chunks, instead of
one ORM object per row: 100,000 rows in seconds. (ORM bulk inserts split a
batch wherever a column switches between NULL and a value, which made an
import with mixed statuses ten times slower.) Lookups go in chunks too, below
the parameter limits of SQLite (32,766) and asyncpg (32,767).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from digest.models import Base, Cadence, Query, Subscriber, SubscriberStatus

CHUNK = 5000
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class Known:
    """What an import needs to know of a subscriber already stored."""

    id: int
    status: SubscriberStatus
    cadence: Cadence
    confirmed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    bounce_count: int
    query_ids: dict[str, int] = field(default_factory=dict)  # query text -> query id


async def known_by_email(session: AsyncSession, emails: Sequence[str]) -> dict[str, Known]:
    """The stored subscribers among these (normalised) addresses, with their queries."""
    known: dict[str, Known] = {}
    for part in chunks(emails):
        subscribers = await session.execute(
            select(
                Subscriber.email,
                Subscriber.id,
                Subscriber.status,
                Subscriber.cadence,
                Subscriber.confirmed_at,
                Subscriber.unsubscribed_at,
                Subscriber.bounce_count,
            ).where(Subscriber.email.in_(part))
        )
        for email, id_, status, cadence, confirmed_at, unsubscribed_at, bounces in subscribers:
            known[email] = Known(id_, status, cadence, confirmed_at, unsubscribed_at, bounces)
    by_id = {subscriber.id: subscriber for subscriber in known.values()}
    for ids in chunks(list(by_id)):
        queries = await session.execute(
            select(Query.subscriber_id, Query.text, Query.id)
            .where(Query.subscriber_id.in_(ids))
            .order_by(Query.id)
        )
        for subscriber_id, text, query_id in queries:
            by_id[subscriber_id].query_ids[text] = query_id
    return known


async def insert_subscribers(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """Insert subscribers (dicts of ``subscribers`` columns); returns their ids by email."""
    if not rows:
        return {}
    table = Base.metadata.tables["subscribers"]
    result = await session.execute(insert(table).returning(table.c.email, table.c.id), list(rows))
    return dict(result.all())


async def insert_queries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert queries (dicts with subscriber_id, text, created_at)."""
    if rows:
        await session.execute(insert(Base.metadata.tables["queries"]), list(rows))


async def update_subscribers(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Update subscribers by id (dicts with ``id`` and the same columns to change)."""
    if not rows:
        return
    table = Base.metadata.tables["subscribers"]
    columns = [name for name in rows[0] if name != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("match_id"))
        .values({name: bindparam(name) for name in columns})
    )
    await session.execute(
        statement, [{"match_id": row["id"]} | {name: row[name] for name in columns} for row in rows]
    )


async def delete_queries(session: AsyncSession, query_ids: Sequence[int]) -> None:
    """Delete these queries."""
    for part in chunks(query_ids):
        await session.execute(delete(Query).where(Query.id.in_(part)))
