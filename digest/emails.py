"""What each email says: the digest for a delivery, and the subscription emails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from digest.clock import Clock, utcnow
from digest.errors import ConfigError
from digest.matching import Field, Segment, highlight
from digest.models import Delivery, Paper, RunStatus, Subscriber
from digest.rendering import Renderer, build_message
from digest.tokens import LinkSigner, Purpose
from digest.wording import count

HF_URL = "https://huggingface.co"
ARXIV_URL = "https://arxiv.org"
EXCERPT_CHARS = 320
AUTHORS_SHOWN = 3
PREHEADER_TITLES = 2
ERROR_CHARS = 4000  # an alert shows this much of a run's error text


@dataclass(frozen=True, slots=True)
class Pick:
    """A paper chosen for one subscriber: why (the queries it matched) and how well."""

    paper: Paper
    matched_queries: Sequence[str]
    score: float = 0.0


LIST_ID_PREFIX = "paper-digest"  # List-Id: <paper-digest.{the From domain}>


@dataclass(frozen=True, slots=True)
class PaperView:
    """One paper as the digest templates show it: every text ready, every link checked."""

    number: int  # its place in the email, from 1
    id: str
    title: str
    title_segments: tuple[Segment, ...]  # the title with the matched words marked
    url: str  # its Hugging Face page
    arxiv_url: str
    pdf_url: str
    authors: str  # the first three, then "et al."
    excerpt: str  # the start of the abstract, cut at a word boundary
    excerpt_segments: tuple[Segment, ...]
    upvotes: int
    github_repo: str | None
    github_stars: int | None
    stars_label: str | None  # "251", "1.2k"; None when the listing did not say
    project_page: str | None
    ai_summary: str | None
    thumbnail_url: str | None  # only when DIGEST_EMAIL_THUMBNAILS is on
    matched_queries: tuple[str, ...]


def one_line(text: str) -> str:
    """Listings wrap titles and abstracts with line breaks and runs of spaces: one line."""
    return " ".join(text.split())


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text``, cut at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return f"{cut}…"


def excerpt_showing_a_match(
    text: str, queries: Sequence[str], *, title_marked: bool, limit: int = EXCERPT_CHARS
) -> str:
    """The start of the abstract, unless neither it nor the title shows a matched word:
    then the sentence where the first one occurs, so the reader sees why it matched."""
    head = excerpt(text, limit)
    if title_marked or any(hit for _, hit in highlight(head, queries, Field.ABSTRACT)):
        return head
    position = 0
    for piece, hit in highlight(text, queries, Field.ABSTRACT):
        if hit:
            break
        position += len(piece)
    else:
        return head  # the queries matched nothing here that highlight can show
    start = _sentence_start(text, position, reach=limit // 2)
    return "…" + excerpt(text[start:], limit - 1)


def _sentence_start(text: str, position: int, reach: int) -> int:
    """Where the sentence holding ``position`` starts, looking back at most ``reach``
    characters; failing that, the start of a word ``reach`` characters back."""
    floor = max(0, position - reach)
    end = max(text.rfind(mark, floor, position) for mark in (". ", "? ", "! "))
    if end >= 0:
        return end + 2
    space = text.find(" ", floor, position)
    return space + 1 if space >= 0 else position


def short_authors(authors: Sequence[str]) -> str:
    if len(authors) <= AUTHORS_SHOWN:
        return ", ".join(authors)
    return ", ".join(authors[:AUTHORS_SHOWN]) + " et al."


def web_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) URL, else None: a listing must not put a
    ``javascript:`` or ``data:`` link into an email."""
    if not value:
        return None
    candidate = value.strip()
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(char.isspace() or char in '"<>' for char in candidate):
        return None
    return candidate


def compact_count(number: int) -> str:
    """251 -> '251', 1234 -> '1.2k', 25300 -> '25k'."""
    if number < 1000:
        return str(number)
    if number < 10_000:
        return f"{number / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{number // 1000}k"


@lru_cache(maxsize=8192)
def marked_texts(
    title: str, abstract: str, queries: tuple[str, ...]
) -> tuple[tuple[Segment, ...], str, tuple[Segment, ...]]:
    """The title with its matches marked, the excerpt, and the excerpt marked.

    Cached (hence tuples): highlighting was most of the cost of a digest, and
    the digests of one run show the same few papers for the same few queries.
    """
    title_segments = highlight(title, queries, Field.TITLE)
    abstract_excerpt = excerpt_showing_a_match(
        abstract, queries, title_marked=any(hit for _, hit in title_segments)
    )
    excerpt_segments = highlight(abstract_excerpt, queries, Field.ABSTRACT)
    return tuple(title_segments), abstract_excerpt, tuple(excerpt_segments)


def paper_view(pick: Pick, number: int, *, thumbnails: bool = False) -> PaperView:
    paper = pick.paper
    return _paper_view(
        number,
        paper.id,
        paper.title,
        paper.abstract,
        tuple(paper.authors),
        paper.upvotes,
        paper.github_repo,
        paper.github_stars,
        paper.project_page,
        paper.ai_summary,
        paper.thumbnail_url if thumbnails else None,
        tuple(pick.matched_queries),
    )


@lru_cache(maxsize=8192)
def _paper_view(
    number: int,
    paper_id: str,
    raw_title: str,
    abstract: str,
    authors: tuple[str, ...],
    upvotes: int,
    github_repo: str | None,
    github_stars: int | None,
    project_page: str | None,
    ai_summary: str | None,
    thumbnail_url: str | None,
    queries: tuple[str, ...],
) -> PaperView:
    """The view of one paper. Cached: a run's digests show the same papers for the same
    few queries. It takes every value it shows rather than the Paper, so the cache key
    holds all of them: a paper whose upvotes or stars changed gets a new view."""
    title = one_line(raw_title)
    title_segments, abstract_excerpt, excerpt_segments = marked_texts(
        title, one_line(abstract), queries
    )
    quoted_id = quote(paper_id, safe="./")
    github = web_url(github_repo)
    summary = one_line(ai_summary or "")
    return PaperView(
        number=number,
        id=paper_id,
        title=title,
        title_segments=title_segments,
        url=f"{HF_URL}/papers/{quoted_id}",
        arxiv_url=f"{ARXIV_URL}/abs/{quoted_id}",
        pdf_url=f"{ARXIV_URL}/pdf/{quoted_id}",
        authors=short_authors([one_line(name) for name in authors]),
        excerpt=abstract_excerpt,
        excerpt_segments=excerpt_segments,
        upvotes=upvotes,
        github_repo=github,
        github_stars=github_stars,
        stars_label=compact_count(github_stars) if github and github_stars is not None else None,
        project_page=web_url(project_page),
        ai_summary=summary or None,
        thumbnail_url=web_url(thumbnail_url),
        matched_queries=queries,
    )


def email_order(picks: Iterable[Pick]) -> list[Pick]:
    """Best score first; equal scores go to more upvotes, then to the paper id (as
    matching ranks), so a preview lists the papers exactly as the email will."""
    return sorted(picks, key=lambda pick: (-pick.score, -pick.paper.upvotes, pick.paper.id))


def days_label(days: Sequence[dt.date]) -> str:
    """'Fri 12 Jun 2026', or a range when a digest covers several listing days."""
    first, last = min(days), max(days)
    if first == last:
        return f"{first:%a %-d %b %Y}"
    return f"{first:%-d %b} – {last:%-d %b %Y}"


def long_days_label(days: Sequence[dt.date]) -> str:
    """'Friday 12 June 2026', or '10 – 12 June 2026': the digest's heading."""
    first, last = min(days), max(days)
    if first == last:
        return f"{first:%A %-d %B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%-d} – {last:%-d %B %Y}"
    return f"{first:%-d %B} – {last:%-d %B %Y}"


def preheader(papers: Sequence[PaperView], total: int) -> str:
    """The line an inbox shows after the subject: the first titles, and how many more."""
    titles = [excerpt(paper.title, 70) for paper in papers[:PREHEADER_TITLES]]
    rest = total - len(titles)
    return " · ".join(titles) + (f" · and {rest} more" if rest else "")


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
        admin_email: str | None = None,
        postal_address: str | None = None,
        thumbnails: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        self._renderer = renderer
        self._signer = signer
        self._public_url = public_url.rstrip("/")
        self._mail_from = mail_from
        self._mail_address = parseaddr(mail_from)[1]
        self._mail_domain = self._mail_address.rsplit("@", 1)[-1]
        self._max_papers = max_papers
        self._admin_email = admin_email
        self._postal_address = postal_address
        self._thumbnails = thumbnails
        self._clock = clock

    @property
    def admin_email(self) -> str | None:
        """Where alerts go (DIGEST_ADMIN_EMAIL); None when nobody is to be alerted."""
        return self._admin_email

    def link(self, purpose: Purpose, subscriber: Subscriber) -> str:
        """A signed link to the web page for ``purpose`` (confirm, manage, unsubscribe)."""
        token = self._signer.sign(purpose, subscriber.id, subscriber.email)
        return f"{self._public_url}/{purpose}/{token}"

    def digest(self, delivery: Delivery) -> EmailMessage:
        """The digest of one delivery from the outbox."""
        picks = [
            Pick(item.paper, item.matched_queries, item.score or 0.0) for item in delivery.papers
        ]
        return self.digest_for(delivery.subscriber, picks, message_id=delivery.message_id)

    def digest_for(
        self, subscriber: Subscriber, picks: Sequence[Pick], *, message_id: str | None = None
    ) -> EmailMessage:
        """The digest of these papers for ``subscriber``: best first, at most
        ``max_papers`` shown and the rest counted, with a link to the listing."""
        if not picks:
            raise ValueError("a digest needs at least one paper")
        ordered = email_order(picks)
        shown = [
            paper_view(pick, number, thumbnails=self._thumbnails)
            for number, pick in enumerate(ordered[: self._max_papers], start=1)
        ]
        listed_on = sorted({pick.paper.listed_on for pick in ordered})
        context = {
            "papers": shown,
            "total": len(ordered),
            "total_label": count(len(ordered), "new paper"),
            "more_count": len(ordered) - len(shown),
            "listing_url": f"{HF_URL}/papers/date/{listed_on[-1].isoformat()}",
            "days": days_label(listed_on),
            "days_long": long_days_label(listed_on),
            "preheader": preheader(shown, len(ordered)),
        }
        return self._compose(
            "digest", subscriber, context, list_headers=True, message_id=message_id
        )

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
        self,
        name: str,
        subscriber: Subscriber,
        context: dict[str, Any],
        *,
        list_headers: bool,
        message_id: str | None = None,
    ) -> EmailMessage:
        """Render ``templates/email/<name>/`` for one subscriber with the shared context
        the base templates need (queries, manage and unsubscribe links).

        List mail (the digest, the welcome) carries the list headers: List-Id,
        List-Unsubscribe with the one-click https link and a mailto, and
        List-Unsubscribe-Post (RFC 8058), so mail clients offer "unsubscribe" and
        bulk senders' rules are met; ``Precedence: bulk`` and ``Auto-Submitted``
        keep auto-responders quiet."""
        unsubscribe_url = self.link(Purpose.UNSUBSCRIBE, subscriber)
        shared = {
            "email": subscriber.email,
            "postal_address": self._postal_address,
            "queries": [query.text for query in subscriber.queries],
            "cadence": subscriber.cadence.value,
            "manage_url": self.link(Purpose.MANAGE, subscriber),
            "unsubscribe_url": unsubscribe_url,
            "public_url": self._public_url,
        }
        headers = {
            "Date": format_datetime(self._clock()),
            "Message-ID": message_id or make_msgid(domain=self._mail_domain),
            "Auto-Submitted": "auto-generated",
        }
        if list_headers:
            headers["List-Id"] = f"<{LIST_ID_PREFIX}.{self._mail_domain}>"
            headers["List-Unsubscribe"] = (
                f"<{unsubscribe_url}>, <mailto:{self._mail_address}?subject=unsubscribe>"
            )
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            headers["Precedence"] = "bulk"
        rendered = self._renderer.render(name, shared | context)
        return build_message(
            rendered, sender=self._mail_from, recipient=subscriber.email, headers=headers
        )

    def alert(self, day: dt.date, status: RunStatus, error: str | None) -> EmailMessage:
        """Tells the admin (DIGEST_ADMIN_EMAIL) that the run for ``day`` went wrong.

        Raises ConfigError when no admin address is set; callers check ``admin_email``.
        """
        if self._admin_email is None:
            raise ConfigError("DIGEST_ADMIN_EMAIL is not set: there is nobody to alert")
        text = (error or "").strip() or "(the run recorded no error text)"
        if len(text) > ERROR_CHARS:
            text = text[:ERROR_CHARS] + "\n[…cut]"
        context = {
            "day": day.isoformat(),
            "day_label": days_label([day]),
            "status": str(status),
            "failed": status is RunStatus.FAILED,
            "error": text,
            "admin_email": self._admin_email,
            "public_url": self._public_url,
            "postal_address": self._postal_address,
        }
        # Not a subscriber email: no list headers; Auto-Submitted (RFC 3834) keeps
        # vacation responders from answering it.
        headers = {
            "Date": format_datetime(self._clock()),
            "Message-ID": self.message_id(),
            "Auto-Submitted": "auto-generated",
        }
        rendered = self._renderer.render("alert", context)
        return build_message(
            rendered, sender=self._mail_from, recipient=self._admin_email, headers=headers
        )

    def message_id(self) -> str:
        """A new Message-ID on the sender's domain."""
        return make_msgid(domain=self._mail_domain)
