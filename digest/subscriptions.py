"""Managing subscribers: the checks and changes shared by the CLI and the web pages."""

from __future__ import annotations

from collections.abc import Sequence

from email_validator import EmailNotValidError, validate_email

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.errors import InputError, NotFoundError
from digest.matching import QueryError, compile_query
from digest.models import Subscriber, SubscriberStatus
from digest.store import subscribers as store


def normalise_email(address: str) -> str:
    """The canonical form of an address, or InputError saying why it is not one."""
    candidate = address.strip()
    if any(char in candidate for char in "\r\n"):
        raise InputError("invalid email address: it contains a line break")
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InputError(f"invalid email address {candidate!r}: {exc}") from None
    return valid.normalized.lower()


def check_queries(queries: Sequence[str]) -> list[str]:
    """The queries, stripped and de-duplicated in order; QueryError names the first bad one."""
    if not queries:
        raise InputError("at least one query is needed (-k QUERY)")
    checked: list[str] = []
    for number, text in enumerate(queries, start=1):
        try:
            compiled = compile_query(text)
        except QueryError as exc:
            raise QueryError(f"query {number} ({text!r}): {exc}") from None
        if compiled.text not in checked:
            checked.append(compiled.text)
    return checked


async def add_subscriber(
    db: Database,
    email: str,
    queries: Sequence[str],
    *,
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
    clock: Clock = utcnow,
) -> Subscriber:
    """Add a subscriber; refuses a bad address, a bad query or an address already known."""
    address = normalise_email(email)
    texts = check_queries(queries)
    async with db.transaction() as session:
        if await store.get_by_email(session, address) is not None:
            raise InputError(f"{address} is already a subscriber")
        return await store.add(session, address, texts, status, clock())


async def remove_subscriber(db: Database, email: str) -> None:
    """Delete a subscriber and everything recorded about them."""
    address = normalise_email(email)
    async with db.transaction() as session:
        if not await store.delete_by_email(session, address):
            raise NotFoundError(f"no subscriber {address}")


async def list_subscribers(db: Database) -> list[Subscriber]:
    async with db.transaction() as session:
        return await store.list_all(session)
