"""Emails built from the recorded listing, with a fixed clock and fixed links, for the email tests.

The papers are the real ones of tests/data/fixtures/hf/api-daily_papers-2026-06-12.json,
parsed by the real parser and matched by the real Matcher.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from digest.emails import EmailComposer, Pick
from digest.matching import Document, Matcher
from digest.models import Cadence, Paper, Query, Subscriber, SubscriberStatus
from digest.rendering import Renderer, create_environment
from digest.sources.hf_daily import parse_api_items
from digest.tokens import LinkSigner, Purpose

RECORDING = (
    Path(__file__).resolve().parents[1] / "data/fixtures/hf/api-daily_papers-2026-06-12.json"
)
DAY = dt.date(2026, 6, 12)
NOW = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)
# Broad enough that 26 of the day's 30 papers match: a full digest of 25 and "1 more".
BROAD_QUERIES = ("model", "agent")
FOCUSED_QUERIES = ('"sparse attention"', "robot manipulation", "transformer")


class FixedSigner(LinkSigner):
    """Links that do not change with the time of the test run (real tokens carry a
    timestamp), so the golden files stay byte for byte the same."""

    def sign(self, purpose: Purpose, subscriber_id: int, email: str) -> str:
        return f"{purpose}-token-for-{subscriber_id}"


def recorded_papers() -> list[Paper]:
    """The 30 papers of the recorded listing as the store would hold them."""
    records = parse_api_items(RECORDING.read_bytes(), DAY)
    return [
        Paper(
            id=record.arxiv_id,
            title=record.title,
            abstract=record.abstract,
            authors=list(record.authors),
            listed_on=record.listed_on,
            upvotes=record.upvotes,
            github_repo=record.github_repo,
            github_stars=record.github_stars,
            project_page=record.project_page,
            ai_summary=record.ai_summary,
            thumbnail_url=record.thumbnail_url,
        )
        for record in records
    ]


def subscriber(queries: Sequence[str], email: str = "ada@example.org") -> Subscriber:
    person = Subscriber(id=7, email=email, status=SubscriberStatus.ACTIVE, cadence=Cadence.DAILY)
    person.queries = [Query(text=text) for text in queries]
    return person


def picks_for(queries: Sequence[str], papers: Sequence[Paper] | None = None) -> list[Pick]:
    """What the pipeline would queue for someone with these queries: the real matcher's picks."""
    papers = list(papers if papers is not None else recorded_papers())
    by_id = {paper.id: paper for paper in papers}
    matches = Matcher({1: list(queries)}).match(
        Document(p.id, p.title, p.abstract, p.upvotes) for p in papers
    )
    return [Pick(by_id[m.paper_id], m.queries, m.score) for m in matches.get(1, [])]


def composer(
    *,
    max_papers: int = 25,
    postal_address: str | None = "Paper Digest, 1 Example Lane, 10115 Berlin, Germany",
    thumbnails: bool = False,
    mail_from: str = "Paper Digest <digest@example.org>",
) -> EmailComposer:
    return EmailComposer(
        Renderer(create_environment()),
        FixedSigner("k" * 40),
        public_url="https://digest.example.org",
        mail_from=mail_from,
        max_papers=max_papers,
        admin_email="admin@example.org",
        postal_address=postal_address,
        thumbnails=thumbnails,
        clock=lambda: NOW,
    )
