"""What each email says: builds the digest message for one delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from digest.clock import Clock, utcnow
from digest.models import Delivery, DeliveryPaper
from digest.rendering import Renderer, build_message
from digest.tokens import LinkSigner, Purpose

HF_PAPERS_URL = "https://huggingface.co/papers"
ARXIV_URL = "https://arxiv.org"
EXCERPT_CHARS = 320
AUTHORS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class PaperView:
    """One paper as the digest templates show it."""

    id: str
    title: str
    url: str
    arxiv_url: str
    pdf_url: str
    authors: str
    excerpt: str
    upvotes: int
    github_repo: str | None
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
    return PaperView(
        id=paper.id,
        title=paper.title,
        url=f"{HF_PAPERS_URL}/{paper.id}",
        arxiv_url=f"{ARXIV_URL}/abs/{paper.id}",
        pdf_url=f"{ARXIV_URL}/pdf/{paper.id}",
        authors=short_authors(paper.authors),
        excerpt=excerpt(paper.abstract),
        upvotes=paper.upvotes,
        github_repo=paper.github_repo,
        matched_queries=tuple(item.matched_queries),
    )


def days_label(days: Sequence[dt.date]) -> str:
    """'Fri 12 Jun 2026', or a range when a digest covers several listing days."""
    first, last = min(days), max(days)
    if first == last:
        return f"{first:%a %-d %b %Y}"
    return f"{first:%-d %b} – {last:%-d %b %Y}"


class EmailComposer:
    """Turns outbox entries into complete messages, links and headers included."""

    def __init__(
        self,
        renderer: Renderer,
        signer: LinkSigner,
        *,
        public_url: str,
        mail_from: str,
        clock: Clock = utcnow,
    ) -> None:
        self._renderer = renderer
        self._signer = signer
        self._public_url = public_url.rstrip("/")
        self._mail_from = mail_from
        self._clock = clock

    def _link(self, purpose: Purpose, subscriber_id: int, email: str) -> str:
        token = self._signer.sign(purpose, subscriber_id, email)
        return f"{self._public_url}/{purpose}/{token}"

    def digest(self, delivery: Delivery) -> EmailMessage:
        subscriber = delivery.subscriber
        papers = [paper_view(item) for item in delivery.papers]
        unsubscribe_url = self._link(Purpose.UNSUBSCRIBE, subscriber.id, subscriber.email)
        context = {
            "papers": papers,
            "days": days_label([item.paper.listed_on for item in delivery.papers]),
            "queries": [query.text for query in subscriber.queries],
            "manage_url": self._link(Purpose.MANAGE, subscriber.id, subscriber.email),
            "unsubscribe_url": unsubscribe_url,
        }
        rendered = self._renderer.render("digest", context)
        return build_message(
            rendered,
            sender=self._mail_from,
            recipient=subscriber.email,
            headers={
                "Date": format_datetime(self._clock()),
                "Message-ID": make_msgid(domain=self._mail_from.rsplit("@", 1)[-1].rstrip(">")),
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
