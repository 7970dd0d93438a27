"""Managing subscribers: the checks and changes shared by the CLI and the web pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.errors import InputError, NotFoundError
from digest.matching import QueryError, compile_query
from digest.models import Cadence, Subscriber, SubscriberStatus
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
    cadence: Cadence = Cadence.DAILY,
    clock: Clock = utcnow,
) -> Subscriber:
    """Add a subscriber; refuses a bad address, a bad query or an address already known."""
    address = normalise_email(email)
    texts = check_queries(queries)
    async with db.transaction() as session:
        if await store.get_by_email(session, address) is not None:
            raise InputError(f"{address} is already a subscriber")
        return await store.add(session, address, texts, status, clock(), cadence)


async def remove_subscriber(db: Database, email: str) -> None:
    """Delete a subscriber and everything recorded about them."""
    address = normalise_email(email)
    async with db.transaction() as session:
        if not await store.delete_by_email(session, address):
            raise NotFoundError(f"no subscriber {address}")


async def list_subscribers(
    db: Database,
    *,
    statuses: Iterable[SubscriberStatus] = (),
    query_contains: str | None = None,
) -> list[store.Listed]:
    """Subscribers, oldest first; optionally only those with one of ``statuses`` and
    those with a query containing ``query_contains`` (ignoring case)."""
    async with db.transaction() as session:
        return await store.list_all(session, statuses=statuses, query_contains=query_contains)


# Admin changes (``digest subscribers ...``). Each takes an address, refuses an unknown one
# with NotFoundError, and says whether anything changed: asking for what already is true
# succeeds and changes nothing, so scripts can repeat a command safely.


class Change(NamedTuple):
    subscriber: Subscriber
    changed: bool


async def get_subscriber(db: Database, email: str) -> Subscriber:
    """The subscriber with this address, with their queries."""
    address = normalise_email(email)
    async with db.transaction() as session:
        return await _existing(session, address)


async def _existing(session: AsyncSession, address: str) -> Subscriber:
    subscriber = await store.get_by_email(session, address)
    if subscriber is None:
        raise NotFoundError(f"no subscriber {address}")
    return subscriber


async def pause_subscriber(db: Database, email: str, *, clock: Clock = utcnow) -> Change:
    """Stop an active subscriber's digests until they are resumed."""
    address = normalise_email(email)
    async with db.transaction() as session:
        subscriber = await _existing(session, address)
        if subscriber.status is SubscriberStatus.PAUSED:
            return Change(subscriber, changed=False)
        if subscriber.status is not SubscriberStatus.ACTIVE:
            raise InputError(
                f"{address} is {subscriber.status}; only an active subscriber can be paused"
            )
        await store.set_status(session, subscriber, SubscriberStatus.PAUSED, clock())
        return Change(subscriber, changed=True)


async def resume_subscriber(db: Database, email: str, *, clock: Clock = utcnow) -> Change:
    """Make a paused or bounced subscriber active again (a bounced one's count starts over).

    Someone who unsubscribed, or never confirmed, is not resumed by an admin: that
    is their decision, made on the web pages.
    """
    address = normalise_email(email)
    async with db.transaction() as session:
        subscriber = await _existing(session, address)
        if subscriber.status is SubscriberStatus.ACTIVE:
            return Change(subscriber, changed=False)
        if subscriber.status not in (SubscriberStatus.PAUSED, SubscriberStatus.BOUNCED):
            raise InputError(
                f"{address} is {subscriber.status}; only a paused or bounced subscriber "
                "can be resumed (they subscribe again themselves)"
            )
        await store.set_status(
            session, subscriber, SubscriberStatus.ACTIVE, clock(), reset_bounces=True
        )
        return Change(subscriber, changed=True)


async def set_cadence(db: Database, email: str, cadence: Cadence) -> Change:
    """Send the subscriber's digest daily or weekly."""
    address = normalise_email(email)
    async with db.transaction() as session:
        subscriber = await _existing(session, address)
        if subscriber.cadence is cadence:
            return Change(subscriber, changed=False)
        await store.set_cadence(session, subscriber, cadence)
        return Change(subscriber, changed=True)


async def set_queries(
    db: Database, email: str, queries: Sequence[str], *, clock: Clock = utcnow
) -> Change:
    """Replace the subscriber's queries (at least one; their order does not matter)."""
    address = normalise_email(email)
    texts = check_queries(queries)
    async with db.transaction() as session:
        subscriber = await _existing(session, address)
        if {query.text for query in subscriber.queries} == set(texts):
            return Change(subscriber, changed=False)
        await store.set_queries(session, subscriber, texts, clock())
        return Change(subscriber, changed=True)


async def add_query(db: Database, email: str, query: str, *, clock: Clock = utcnow) -> Change:
    """Give the subscriber one more query."""
    address = normalise_email(email)
    try:
        text = compile_query(query).text
    except QueryError as exc:
        raise QueryError(f"query {query!r}: {exc}") from None
    async with db.transaction() as session:
        subscriber = await _existing(session, address)
        current = [q.text for q in subscriber.queries]
        if text in current:
            return Change(subscriber, changed=False)
        await store.set_queries(session, subscriber, [*current, text], clock())
        return Change(subscriber, changed=True)


async def remove_query(db: Database, email: str, query: str, *, clock: Clock = utcnow) -> Change:
    """Take one query away; the last query cannot go (remove the subscriber instead).

    The query is found by its exact text, or else by its text ignoring case.
    """
    address = normalise_email(email)
    wanted = query.strip()
    async with db.transaction() as session:
        subscriber = await _existing(session, address)
        current = [q.text for q in subscriber.queries]
        found = wanted if wanted in current else _casefold_match(wanted, current)
        if found is None:
            listed = "; ".join(current) or "none"
            raise NotFoundError(f"{address} has no query {wanted!r} (their queries: {listed})")
        if len(current) == 1:
            raise InputError(
                f"{wanted!r} is the only query of {address}; "
                "set another first, or remove the subscriber"
            )
        await store.set_queries(session, subscriber, [t for t in current if t != found], clock())
        return Change(subscriber, changed=True)


def _casefold_match(wanted: str, texts: Sequence[str]) -> str | None:
    matches = [text for text in texts if text.casefold() == wanted.casefold()]
    return matches[0] if len(matches) == 1 else None
