"""The digest a subscriber would get for a day, built from stored papers, sent nowhere.

A preview reads only: it matches the day's stored papers against the
subscriber's queries, leaves out the papers the ledger says they were already
given, and lets the composer order, cap and render the rest exactly as the
sender would. Nothing is queued, recorded or sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage

from digest.db import Database
from digest.emails import EmailComposer, Pick
from digest.errors import InputError, NotFoundError
from digest.matching import Matcher
from digest.pipeline import document
from digest.store import deliveries, papers, subscribers
from digest.subscriptions import normalise_email


@dataclass(frozen=True, slots=True)
class Preview:
    """What the subscriber would get for ``day``: ``message`` is None when nothing."""

    email: str
    day: dt.date
    papers_stored: int
    papers_matched: int
    papers_already_sent: int
    message: EmailMessage | None

    @property
    def papers_in_email(self) -> int:
        return self.papers_matched - self.papers_already_sent

    def why_no_email(self) -> str:
        """One line saying why the subscriber would get nothing (when ``message`` is None)."""
        if not self.papers_matched:
            return (
                f"{self.email} would get no email for {self.day}: none of the "
                f"{self.papers_stored} stored papers matches their queries"
            )
        return (
            f"{self.email} would get no email for {self.day}: the "
            f"{self.papers_matched} matching papers were all sent to them before"
        )


async def preview_digest(
    db: Database, composer: EmailComposer, email: str, day: dt.date
) -> Preview:
    """Build the digest ``email`` would get for ``day`` without sending or recording it.

    Raises NotFoundError for an unknown subscriber and InputError for a day
    without stored papers.
    """
    address = normalise_email(email)
    async with db.transaction() as session:
        subscriber = await subscribers.get_by_email(session, address)
        if subscriber is None:
            raise NotFoundError(f"no subscriber {address}")
        listed = await papers.papers_listed_on(session, day)
        if not listed:
            raise InputError(
                f"no papers stored for {day}: run 'digest run --date {day}' to fetch them first"
            )
        queries = {subscriber.id: [query.text for query in subscriber.queries]}
        matches = Matcher(queries).match(document(paper) for paper in listed)
        found = matches.get(subscriber.id, [])
        given = await deliveries.already_delivered(
            session, [subscriber.id], [match.paper_id for match in found]
        )
    by_id = {paper.id: paper for paper in listed}
    picks = [
        Pick(by_id[match.paper_id], match.queries, match.score)
        for match in found
        if (subscriber.id, match.paper_id) not in given
    ]
    return Preview(
        email=address,
        day=day,
        papers_stored=len(listed),
        papers_matched=len(found),
        papers_already_sent=len(found) - len(picks),
        message=composer.digest_for(subscriber, picks) if picks else None,
    )
