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

from sqlalchemy import bindparam, delete, func, insert, select, update
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
    """The stored subscribers among these (normalised) addresses, with their queries.

    When the table is not much bigger than the list, it is read whole (one plain
    scan beats many IN lists); otherwise the addresses are looked up in chunks.
    """
    columns = (
        Subscriber.email,
        Subscriber.id,
        Subscriber.status,
        Subscriber.cadence,
        Subscriber.confirmed_at,
        Subscriber.unsubscribed_at,
        Subscriber.bounce_count,
    )
    stored = await session.scalar(select(func.count()).select_from(Subscriber)) or 0
    if stored <= 2 * len(emails):
        statements = [select(*columns)]
        wanted: set[str] | None = set(emails)
    else:
        statements = [select(*columns).where(Subscriber.email.in_(part)) for part in chunks(emails)]
        wanted = None
    known: dict[str, Known] = {}
    for statement in statements:
        for email, id_, status, cadence, confirmed, unsubscribed, bounces in await session.execute(
            statement
        ):
            if wanted is None or email in wanted:
                known[email] = Known(id_, status, cadence, confirmed, unsubscribed, bounces)
    by_id = {subscriber.id: subscriber for subscriber in known.values()}
    query_statements = (
        [select(Query.subscriber_id, Query.text, Query.id)]
        if wanted is not None
        else [
            select(Query.subscriber_id, Query.text, Query.id).where(Query.subscriber_id.in_(ids))
            for ids in chunks(list(by_id))
        ]
    )
    for query_statement in query_statements:
        rows = await session.execute(query_statement.order_by(Query.id))
        for subscriber_id, text, query_id in rows:
            if subscriber_id in by_id:
                by_id[subscriber_id].query_ids[text] = query_id
    return known


async def insert_subscribers(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """Insert subscribers (dicts of ``subscribers`` columns); returns their ids by email.

    A plain executemany (no RETURNING, which SQLAlchemy batches more slowly), then the
    new ids in one range scan: ids only grow, so the new rows are those above the
    largest id before. (On PostgreSQL another writer's rows may be among them; only
    these addresses are kept.)
    """
    if not rows:
        return {}
    table = Base.metadata.tables["subscribers"]
    before = await session.scalar(select(func.max(table.c.id))) or 0
    await session.execute(insert(table), list(rows))
    emails = {row["email"] for row in rows}
    added = await session.execute(select(table.c.email, table.c.id).where(table.c.id > before))
    return {email: id_ for email, id_ in added if email in emails}


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
