"""A sample digest for ``digest send-test``: proves the mail set-up end to end.

Made from the latest stored papers when there are any, from three built-in
papers otherwise. It is composed like a real digest but never enters the
outbox or the ledger: sending it records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from digest.clock import Clock, utcnow, yesterday
from digest.db import Database
from digest.emails import EmailComposer
from digest.errors import DigestError
from digest.mail import MailError
from digest.matching import Document, Matcher
from digest.models import (
    Cadence,
    Delivery,
    DeliveryPaper,
    DeliveryStatus,
    Paper,
    Query,
    Subscriber,
    SubscriberStatus,
)
from digest.store import reports
from digest.store import subscribers as subscriber_store

SAMPLE_SIZE = 5
SAMPLE_QUERIES = ("transformer", "diffusion", '"speculative decoding"')
NO_MATCH = "(sample)"


@dataclass(frozen=True, slots=True)
class SampleSent:
    recipient: str
    papers: int
    listed_on: dt.date | None  # the stored listing day used; None: the built-in papers
    subscriber: bool  # whether the address is a subscriber (their queries and links were used)
    message_id: str


def builtin_papers(day: dt.date, now: dt.datetime) -> list[Paper]:
    """Three well-known papers (summaries in our words), for a database with none stored."""
    known = [
        (
            "1706.03762",
            "Attention Is All You Need",
            ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit"],
            "Introduces the Transformer, a sequence transduction model built on attention "
            "alone, without recurrence or convolution, which trains faster and set new "
            "results in machine translation.",
        ),
        (
            "2006.11239",
            "Denoising Diffusion Probabilistic Models",
            ["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"],
            "Generates high-quality images with diffusion probabilistic models trained on a "
            "weighted variational bound that connects them to denoising score matching.",
        ),
        (
            "2211.17192",
            "Fast Inference from Transformers via Speculative Decoding",
            ["Yaniv Leviathan", "Matan Kalman", "Yossi Matias"],
            "Speeds up sampling from large autoregressive models by drafting tokens with a "
            "smaller model and checking them in parallel, with exactly the same outputs.",
        ),
    ]
    return [
        Paper(
            id=arxiv_id,
            title=title,
            abstract=abstract,
            authors=authors,
            listed_on=day,
            upvotes=0,
            num_comments=0,
            ai_keywords=[],
            source="sample",
            first_seen_at=now,
            updated_at=now,
        )
        for arxiv_id, title, authors, abstract in known
    ]


def sample_delivery(subscriber: Subscriber, papers: Sequence[Paper]) -> Delivery:
    """An unsaved delivery of ``papers`` to ``subscriber``, each marked with the
    subscriber's queries it matches (or as a sample when none does)."""
    matcher = Matcher({0: [query.text for query in subscriber.queries]})
    documents = [Document(p.id, p.title, p.abstract, p.upvotes) for p in papers]
    matched = {match.paper_id: match.queries for match in matcher.match(documents).get(0, [])}
    return Delivery(
        subscriber=subscriber,
        status=DeliveryStatus.PENDING,
        attempts=0,
        papers=[
            DeliveryPaper(
                paper=paper,
                score=0.0,
                matched_queries=list(matched.get(paper.id, (NO_MATCH,))),
            )
            for paper in papers
        ],
    )


async def send_sample(
    address: str,
    *,
    db: Database,
    send: Callable[[EmailMessage], Awaitable[None]],
    composer: EmailComposer,
    clock: Clock = utcnow,
) -> SampleSent:
    """Compose a sample digest for ``address`` and hand it to ``send``.

    A subscriber gets it with their own queries and working links; any other
    address with sample queries. Raises DigestError when the mailer refuses it.
    """
    async with db.transaction() as session:
        subscriber = await subscriber_store.get_by_email(session, address)
        stored = await reports.latest_papers(session, SAMPLE_SIZE)
    known = subscriber is not None
    if subscriber is None:
        subscriber = Subscriber(
            id=0,
            email=address,
            status=SubscriberStatus.ACTIVE,
            cadence=Cadence.DAILY,
            queries=[Query(text=text) for text in SAMPLE_QUERIES],
        )
    papers = stored or builtin_papers(yesterday(clock), clock())
    message = composer.digest(sample_delivery(subscriber, papers))
    try:
        await send(message)
    except MailError as exc:
        raise DigestError(f"the sample digest to {address} was not sent: {exc}") from exc
    return SampleSent(
        recipient=address,
        papers=len(papers),
        listed_on=papers[0].listed_on if stored else None,
        subscriber=known,
        message_id=str(message["Message-ID"]),
    )
