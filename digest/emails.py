"""What each email says: the digest for a delivery, and the subscription emails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from digest.clock import Clock, utcnow
from digest.matching import Field, Segment, highlight
from digest.models import Delivery, DeliveryPaper, Subscriber
from digest.rendering import Renderer, build_message
from digest.tokens import LinkSigner, Purpose

HF_URL = "https://huggingface.co"
ARXIV_URL = "https://arxiv.org"
EXCERPT_CHARS = 320
AUTHORS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class PaperView:
    """One paper as the digest templates show it."""

    id: str
    title: str
    title_segments: list[Segment]  # the title with the matched words marked
    url: str
    arxiv_url: str
    pdf_url: str
    authors: str
    excerpt: str
    excerpt_segments: list[Segment]
    upvotes: int
    github_repo: str | None
    github_stars: int | None
    project_page: str | None
    ai_summary: str | None
    matched_queries: tuple[str, ...]


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text``, cut at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return f"{cut}…"


def short_authors(authors: Sequence[str]) -> str:
    if len(authors) <= AUTHORS_SHOWN:
        return ", ".join(authors)
    return ", ".join(authors[:AUTHORS_SHOWN]) + " et al."


def paper_view(item: DeliveryPaper) -> PaperView:
    paper = item.paper
    abstract_excerpt = excerpt(paper.abstract)
    return PaperView(
        id=paper.id,
        title=paper.title,
        title_segments=highlight(paper.title, item.matched_queries, Field.TITLE),
        url=f"{HF_URL}/papers/{paper.id}",
        arxiv_url=f"{ARXIV_URL}/abs/{paper.id}",
        pdf_url=f"{ARXIV_URL}/pdf/{paper.id}",
        authors=short_authors(paper.authors),
        excerpt=abstract_excerpt,
        excerpt_segments=highlight(abstract_excerpt, item.matched_queries, Field.ABSTRACT),
        upvotes=paper.upvotes,
        github_repo=paper.github_repo,
        github_stars=paper.github_stars,
        project_page=paper.project_page,
        ai_summary=paper.ai_summary,
        matched_queries=tuple(item.matched_queries),
    )


def days_label(days: Sequence[dt.date]) -> str:
    """'Fri 12 Jun 2026', or a range when a digest covers several listing days."""
    first, last = min(days), max(days)
    if first == last:
        return f"{first:%a %-d %b %Y}"
    return f"{first:%-d %b} – {last:%-d %b %Y}"


class EmailComposer:
    """Turns outbox entries and subscription events into complete messages.

    Every email is a folder in ``templates/email/``; this class decides what
    each one is told (its context) and which headers it carries.
    """

    def __init__(
        self,
        renderer: Renderer,
        signer: LinkSigner,
        *,
        public_url: str,
        mail_from: str,
        max_papers: int = 25,
        clock: Clock = utcnow,
    ) -> None:
        self._renderer = renderer
        self._signer = signer
        self._public_url = public_url.rstrip("/")
        self._mail_from = mail_from
        self._max_papers = max_papers
        self._clock = clock

    def link(self, purpose: Purpose, subscriber: Subscriber) -> str:
        """A signed link to the web page for ``purpose`` (confirm, manage, unsubscribe)."""
        token = self._signer.sign(purpose, subscriber.id, subscriber.email)
        return f"{self._public_url}/{purpose}/{token}"

    def digest(self, delivery: Delivery) -> EmailMessage:
        """The digest of one delivery: its papers best first, at most ``max_papers`` shown."""
        subscriber = delivery.subscriber
        # The ledger keeps each paper's score; equal scores go to more upvotes (as matching ranks).
        items = sorted(
            delivery.papers, key=lambda i: (-(i.score or 0.0), -i.paper.upvotes, i.paper.id)
        )
        papers = [paper_view(item) for item in items]
        listed_on = sorted({item.paper.listed_on for item in delivery.papers})
        shown = papers[: self._max_papers]
        context = {
            "papers": shown,
            "total": len(papers),
            "more_count": len(papers) - len(shown),
            "listing_url": f"{HF_URL}/papers/date/{listed_on[-1].isoformat()}",
            "days": days_label(listed_on),
        }
        return self._compose("digest", subscriber, context, list_headers=True)

    def confirmation(self, subscriber: Subscriber, expires_days: int) -> EmailMessage:
        """Asks a new subscriber to confirm (double opt-in). Carries no unsubscribe link:
        until they confirm, they are not on the list."""
        context = {
            "confirm_url": self.link(Purpose.CONFIRM, subscriber),
            "expires_days": expires_days,
        }
        return self._compose("confirm", subscriber, context, list_headers=False)

    def welcome(self, subscriber: Subscriber) -> EmailMessage:
        return self._compose("welcome", subscriber, {}, list_headers=True)

    def goodbye(self, subscriber: Subscriber) -> EmailMessage:
        context = {"subscribe_url": f"{self._public_url}/"}
        return self._compose("goodbye", subscriber, context, list_headers=False)

    def _compose(
        self, name: str, subscriber: Subscriber, context: dict[str, Any], *, list_headers: bool
    ) -> EmailMessage:
        """Render ``templates/email/<name>/`` for one subscriber with the shared context
        the base templates need (queries, manage and unsubscribe links)."""
        unsubscribe_url = self.link(Purpose.UNSUBSCRIBE, subscriber)
        shared = {
            "email": subscriber.email,
            "queries": [query.text for query in subscriber.queries],
            "cadence": subscriber.cadence.value,
            "manage_url": self.link(Purpose.MANAGE, subscriber),
            "unsubscribe_url": unsubscribe_url,
            "public_url": self._public_url,
        }
        headers = {
            "Date": format_datetime(self._clock()),
            "Message-ID": make_msgid(domain=self._mail_domain()),
        }
        if list_headers:
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        rendered = self._renderer.render(name, shared | context)
        return build_message(
            rendered, sender=self._mail_from, recipient=subscriber.email, headers=headers
        )

    def _mail_domain(self) -> str:
        return self._mail_from.rsplit("@", 1)[-1].rstrip(">").strip()
