"""Managing subscribers: the checks and changes shared by the CLI and the web pages."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.errors import InputError, NotFoundError
from digest.matching import QueryError, compile_query
from digest.models import Cadence, Subscriber, SubscriberStatus
from digest.store import subscribers as store
from digest.tokens import ExpiredToken, InvalidToken, LinkSigner, Purpose


class InvalidEmail(InputError):
    """An address that is not one; ``reason`` says why, without repeating the address."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalise_email(address: str) -> str:
    """The canonical form of an address, or InvalidEmail saying why it is not one."""
    candidate = address.strip()
    if any(char in candidate for char in "\r\n"):
        reason = "it contains a line break"
        raise InvalidEmail(f"invalid email address: {reason}", reason)
    try:
        valid = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"invalid email address {candidate!r}: {exc}", str(exc)) from None
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


# --- Subscribing, confirming, managing and leaving: what the web pages do. ---------------
#
# Each change is one transaction; each state change is a conditional UPDATE (see
# store.transition), so a double click or two processes cannot both send a welcome or
# a goodbye. The functions decide which email is due; the caller sends it.

CONFIRMATION_INTERVAL = dt.timedelta(minutes=10)
MAX_QUERIES = 20
LEAVABLE = (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED)


class Notice(enum.StrEnum):
    """A subscription email that an action makes due."""

    CONFIRM = "confirm"  # double opt-in: asks a new (or returning) subscriber to confirm
    REMINDER = "reminder"  # someone signed up an address that is already subscribed
    WELCOME = "welcome"  # the subscription was just confirmed
    GOODBYE = "goodbye"  # the subscriber just left


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: the subscriber afterwards and the email now due, if any."""

    subscriber: Subscriber
    notice: Notice | None = None
    changed: bool = False
    # When ``notice`` holds a claimed slot (see store.claim_notice_slot): to give it back
    # if the email cannot be sent, so the person can try again at once.
    slot: tuple[dt.datetime, dt.datetime | None] | None = None


class LinkError(InputError):
    """A link that does not (or no longer) lead anywhere; ``expired`` when it is too old."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def check_query_lines(text: str) -> tuple[list[str], list[str]]:
    """Queries typed one per line: the good ones (de-duplicated, in order) and a message
    per bad line. Blank lines are ignored."""
    queries: list[str] = []
    problems: list[str] = []
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        return [], ["Enter at least one query."]
    if len(lines) > MAX_QUERIES:
        return [], [f"Enter at most {MAX_QUERIES} queries (one per line); there are {len(lines)}."]
    for number, line in lines:
        try:
            compiled = compile_query(line)
        except QueryError as exc:
            problems.append(f"Line {number}: {exc}")
            continue
        if compiled.text not in queries:
            queries.append(compiled.text)
    return queries, problems


async def subscribe(
    db: Database,
    email: str,
    queries: Sequence[str],
    *,
    link_lifetime: dt.timedelta,
    clock: Clock = utcnow,
) -> Outcome:
    """Sign an address up (double opt-in). The answer to the person is the same whatever
    happens here; what differs is the email that is due:

    - a new address, or one that left or bounced: it is (again) pending with these
      queries, and gets a confirmation email;
    - a pending address: its queries are replaced and it gets a new confirmation email;
    - an active or paused address: nothing changes, and its owner gets a reminder (the
      welcome email, with their manage link), so whoever typed it learns nothing and
      gets nothing.

    At most one such email goes to an address per CONFIRMATION_INTERVAL (durable in
    ``confirmation_sent_at``), and a pending sign-up changes only together with such an
    email, so nobody can rewrite it unseen; the confirm page shows the queries its button
    activates. Expired sign-ups are purged first, so abandoned ones never pile up.
    """
    address = normalise_email(email)
    texts = check_queries(queries)
    now = clock()
    async with db.transaction() as session:
        await store.purge_pending(session, now - link_lifetime)
        subscriber = await store.add_pending(session, address, texts, now)
        previous = subscriber.confirmation_sent_at
        if not await store.claim_notice_slot(session, subscriber.id, now, CONFIRMATION_INTERVAL):
            return Outcome(subscriber)
        slot = (now, previous)
        if subscriber.status in LEAVABLE:
            return Outcome(subscriber, Notice.REMINDER, slot=slot)
        if subscriber.status is not SubscriberStatus.PENDING:
            await store.reopen(session, subscriber)
        await store.set_queries(session, subscriber, texts, now)
        return Outcome(subscriber, Notice.CONFIRM, changed=True, slot=slot)


async def release_notice(db: Database, outcome: Outcome) -> None:
    """The email of ``outcome`` could not be sent: let the person ask again right away."""
    if outcome.slot is None:
        return
    claimed_at, previous = outcome.slot
    async with db.transaction() as session:
        await store.release_notice_slot(session, outcome.subscriber.id, claimed_at, previous)


async def subscriber_for_link(
    db: Database,
    signer: LinkSigner,
    purpose: Purpose,
    token: str,
    *,
    max_age: dt.timedelta | None = None,
) -> Subscriber:
    """The subscriber a link was made for; LinkError when the token is tampered with,
    expired or made for another purpose, or its subscriber is gone or has another address."""
    seconds = None if max_age is None else int(max_age.total_seconds())
    try:
        claims = signer.verify(purpose, token, max_age=seconds)
    except ExpiredToken:
        raise LinkError("the link has expired", expired=True) from None
    except InvalidToken:
        raise LinkError("the link is not valid") from None
    async with db.transaction() as session:
        subscriber = await store.get_by_id(session, claims.subscriber_id)
    if subscriber is None or not signer.belongs_to(claims, subscriber.email):
        raise LinkError("the link belongs to a subscription that no longer exists")
    return subscriber


async def confirm(db: Database, subscriber: Subscriber, *, clock: Clock = utcnow) -> Outcome:
    """Activate a pending subscription (welcome due). Confirming again changes nothing;
    a subscription that was left since cannot be revived by an old link (LinkError)."""
    async with db.transaction() as session:
        current = await _current(session, subscriber)
        if await store.transition(
            session, current, [SubscriberStatus.PENDING], SubscriberStatus.ACTIVE, clock()
        ):
            return Outcome(current, Notice.WELCOME, changed=True)
        # Read again: on SQLite the first read ran before this transaction took the write
        # lock, so a parallel confirmation may have happened in between.
        latest = await store.get_by_id(session, subscriber.id)
    if latest is not None and latest.status in LEAVABLE:
        return Outcome(latest)
    raise LinkError("the subscription this link confirms has ended")


async def update_preferences(
    db: Database,
    subscriber: Subscriber,
    queries: Sequence[str],
    cadence: Cadence,
    *,
    clock: Clock = utcnow,
) -> Outcome:
    """Replace the queries and set the cadence of an active or paused subscription."""
    texts = check_queries(queries)
    async with db.transaction() as session:
        current = _subscribed(await _current(session, subscriber))
        await store.set_queries(session, current, texts, clock())
        await store.set_cadence(session, current, cadence)
    return Outcome(current, changed=True)


async def pause(db: Database, subscriber: Subscriber, *, clock: Clock = utcnow) -> Outcome:
    """Stop the digests for now, keeping queries and history."""
    return await _move(db, subscriber, SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, clock)


async def resume(db: Database, subscriber: Subscriber, *, clock: Clock = utcnow) -> Outcome:
    """Start the digests again after a pause."""
    return await _move(db, subscriber, SubscriberStatus.PAUSED, SubscriberStatus.ACTIVE, clock)


async def unsubscribe(db: Database, subscriber: Subscriber, *, clock: Clock = utcnow) -> Outcome:
    """Leave. Idempotent: the goodbye email is due only from the call that made the change.
    The row stays (status ``unsubscribed``) so the ledger of papers sent is kept."""
    async with db.transaction() as session:
        current = await _current(session, subscriber)
        changed = await store.transition(
            session, current, LEAVABLE, SubscriberStatus.UNSUBSCRIBED, clock()
        )
    return Outcome(current, Notice.GOODBYE if changed else None, changed=changed)


async def purge_expired_signups(
    db: Database, link_lifetime: dt.timedelta, *, clock: Clock = utcnow
) -> int:
    """Delete unconfirmed sign-ups whose confirmation link has expired; the count deleted."""
    async with db.transaction() as session:
        return await store.purge_pending(session, clock() - link_lifetime)


async def _move(
    db: Database,
    subscriber: Subscriber,
    source: SubscriberStatus,
    target: SubscriberStatus,
    clock: Clock,
) -> Outcome:
    async with db.transaction() as session:
        current = _subscribed(await _current(session, subscriber))
        changed = await store.transition(session, current, [source], target, clock())
    return Outcome(current, changed=changed)


async def _current(session: AsyncSession, subscriber: Subscriber) -> Subscriber:
    """The subscriber as stored now, in this transaction; LinkError if gone or readdressed."""
    current = await store.get_by_id(session, subscriber.id, lock=True)
    if current is None or current.email != subscriber.email:
        raise LinkError("the link belongs to a subscription that no longer exists")
    return current


def _subscribed(subscriber: Subscriber) -> Subscriber:
    if subscriber.status not in LEAVABLE:
        raise LinkError("the subscription has ended")
    return subscriber


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
