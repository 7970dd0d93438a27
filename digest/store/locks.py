"""PostgreSQL advisory locks: one daily run at a time across processes and hosts.

These take a connection rather than a session: a session-level advisory lock belongs
to one database connection, which the caller keeps for as long as it holds the lock.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection


async def try_advisory_lock(connection: AsyncConnection, key: int) -> bool:
    """Take the advisory lock ``key`` for this connection's session, without waiting;
    False when another session holds it. It is released by ``advisory_unlock``, or by
    PostgreSQL when the connection ends (a process that dies never keeps it)."""
    return bool(await connection.scalar(select(func.pg_try_advisory_lock(key))))


async def advisory_unlock(connection: AsyncConnection, key: int) -> None:
    """Release the advisory lock ``key`` held by this connection's session."""
    await connection.scalar(select(func.pg_advisory_unlock(key)))
