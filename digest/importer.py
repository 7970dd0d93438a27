"""Importing checked subscriber entries: decide what changes, then write it all in one
transaction (bulk statements, so 100,000 rows take seconds).

How a row is treated:

- a new address is added, with the row's queries, status and cadence;
- a known address takes the row's queries (as a set: order does not matter),
  status and cadence; a row that says what is already stored changes nothing,
  so importing the same file twice changes nothing the second time;
- an address that unsubscribed stays unsubscribed, whatever the row says: an
  import never subscribes someone who left (the row is counted as kept).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from digest.clock import Clock, utcnow
from digest.db import Database
from digest.models import SubscriberStatus
from digest.store import imports as store
from digest.subscriber_file import Entry

# Statuses that mean the address was confirmed at some point.
_CONFIRMED = {SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.BOUNCED}


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: int
    updated: int
    unchanged: int
    kept_unsubscribed: int


@dataclass(slots=True)
class Plan:
    new: list[Entry] = field(default_factory=list)
    changed: list[tuple[Entry, store.Known]] = field(default_factory=list)
    unchanged: int = 0
    kept_unsubscribed: int = 0

    def report(self) -> ImportReport:
        return ImportReport(
            len(self.new), len(self.changed), self.unchanged, self.kept_unsubscribed
        )


def plan_import(entries: Sequence[Entry], known: dict[str, store.Known]) -> Plan:
    """Sort entries into new, changed, unchanged and kept-unsubscribed (pure)."""
    plan = Plan()
    for entry in entries:
        stored = known.get(entry.email)
        if stored is None:
            plan.new.append(entry)
        elif stored.status is SubscriberStatus.UNSUBSCRIBED and (
            entry.status is not SubscriberStatus.UNSUBSCRIBED
        ):
            plan.kept_unsubscribed += 1
        elif (stored.status, stored.cadence, set(stored.query_ids)) == (
            entry.status,
            entry.cadence,
            set(entry.queries),
        ):
            plan.unchanged += 1
        else:
            plan.changed.append((entry, stored))
    return plan


async def import_entries(
    db: Database,
    entries: Sequence[Entry],
    *,
    clock: Clock = utcnow,
    dry_run: bool = False,
    advance: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the entries all or nothing; with ``dry_run`` only say what would change.

    ``advance(n)`` is called as rows are written, for a progress bar.
    """
    now = clock()
    async with db.transaction() as session:
        known = await store.known_by_email(session, [entry.email for entry in entries])
        plan = plan_import(entries, known)
        if advance:
            advance(plan.unchanged + plan.kept_unsubscribed)  # nothing to write for these
        if dry_run:
            return plan.report()
        for part in store.chunks(plan.new):
            ids = await store.insert_subscribers(session, [_new_row(e, now) for e in part])
            await store.insert_queries(
                session,
                [_query_row(ids[e.email], text, now) for e in part for text in e.queries],
            )
            if advance:
                advance(len(part))
        for changes in store.chunks(plan.changed):
            await store.update_subscribers(session, [_updated_row(e, k, now) for e, k in changes])
            await store.delete_queries(
                session,
                [
                    query_id
                    for entry, stored in changes
                    for text, query_id in stored.query_ids.items()
                    if text not in entry.queries
                ],
            )
            await store.insert_queries(
                session,
                [
                    _query_row(stored.id, text, now)
                    for entry, stored in changes
                    for text in entry.queries
                    if text not in stored.query_ids
                ],
            )
            if advance:
                advance(len(changes))
    return plan.report()


def _new_row(entry: Entry, now: dt.datetime) -> dict[str, Any]:
    return {
        "email": entry.email,
        "status": entry.status,
        "cadence": entry.cadence,
        "bounce_count": 0,
        "created_at": now,
        "confirmed_at": now if entry.status in _CONFIRMED else None,
        "confirmation_sent_at": None,
        "unsubscribed_at": now if entry.status is SubscriberStatus.UNSUBSCRIBED else None,
    }


def _updated_row(entry: Entry, stored: store.Known, now: dt.datetime) -> dict[str, Any]:
    becomes = entry.status if entry.status is not stored.status else None
    return {
        "id": stored.id,
        "status": entry.status,
        "cadence": entry.cadence,
        "confirmed_at": stored.confirmed_at or (now if entry.status in _CONFIRMED else None),
        "unsubscribed_at": (
            now if becomes is SubscriberStatus.UNSUBSCRIBED else stored.unsubscribed_at
        ),
        # Made active again (as ``digest subscribers resume`` does): bounces start over.
        "bounce_count": 0 if becomes is SubscriberStatus.ACTIVE else stored.bounce_count,
    }


def _query_row(subscriber_id: int, text: str, now: dt.datetime) -> dict[str, Any]:
    return {"subscriber_id": subscriber_id, "text": text, "created_at": now}
