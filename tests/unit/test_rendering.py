"""Email rendering: HTML autoescaped, plain text left clean, no header injection."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from email import message_from_bytes
from email.headerregistry import AddressHeader, DateHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, default

import pytest
from bs4 import BeautifulSoup

from digest import rendering
from digest.emails import EmailComposer, days_label, excerpt, short_authors
from digest.models import (
    Cadence,
    Delivery,
    DeliveryPaper,
    Paper,
    Query,
    Subscriber,
    SubscriberStatus,
)
from digest.rendering import (
    MESSAGE_POLICY,
    RenderedEmail,
    Renderer,
    build_message,
    create_environment,
)
from digest.tokens import LinkSigner

NOW = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)


def _delivery(title: str, count: int = 1) -> Delivery:
    subscriber = Subscriber(
        id=3, email="ada@example.org", status=SubscriberStatus.ACTIVE, cadence=Cadence.DAILY
    )
    subscriber.queries = [Query(text='"<b>bold</b>" query')]
    papers = [
        Paper(
            id=f"2606.{number:05d}",
            title=title,
            abstract="An abstract & more.",
            authors=["A", "B"],
            listed_on=dt.date(2026, 6, 12),
            upvotes=4,
            github_repo=None,
        )
        for number in range(count)
    ]
    delivery = Delivery(id=1, subscriber=subscriber, subscriber_id=3)
    delivery.papers = [
        DeliveryPaper(paper=paper, matched_queries=['"<b>bold</b>" query']) for paper in papers
    ]
    return delivery


def _composer(max_papers: int = 25) -> EmailComposer:
    return EmailComposer(
        Renderer(create_environment()),
        LinkSigner("k" * 40),
        public_url="https://digest.example.org",
        mail_from="Digest <digest@example.org>",
        max_papers=max_papers,
        clock=lambda: NOW,
    )


def test_titles_are_escaped_in_html_and_left_alone_in_text() -> None:
    message = _composer().digest(_delivery("<script>alert(1)</script> & Co"))
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(1)</script> & Co" in text
    assert parsed["Subject"] == "1 new paper for you · Fri 12 Jun 2026"
    assert parsed["Message-ID"].endswith("@example.org>")
    assert parsed["List-Unsubscribe"].startswith("<https://digest.example.org/unsubscribe/")
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_a_line_break_cannot_smuggle_a_header() -> None:
    rendered = RenderedEmail(subject="hi", text="t", html="<p>h</p>")
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        build_message(
            rendered,
            sender="d@example.org",
            recipient="a@example.org\r\nBcc: eve@example.org",
            headers={},
        )


def test_a_template_subject_is_one_line() -> None:
    message = _composer().digest(_delivery("Title\nwith a break"))
    assert "\n" not in str(message["Subject"])


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("short", 10, "short"), ("one two three four", 9, "one two…"), ("one, two", 5, "one…")],
)
def test_excerpt_cuts_at_a_word_boundary(text: str, limit: int, expected: str) -> None:
    assert excerpt(text, limit) == expected


def test_authors_and_days() -> None:
    assert short_authors(["A", "B", "C"]) == "A, B, C"
    assert short_authors(["A", "B", "C", "D"]) == "A, B, C et al."
    assert days_label([dt.date(2026, 6, 12)]) == "Fri 12 Jun 2026"
    assert days_label([dt.date(2026, 6, 12), dt.date(2026, 6, 10)]) == "10 Jun – 12 Jun 2026"


def _parts(message: EmailMessage) -> tuple[str, str]:
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    return parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content()


def test_matched_words_are_marked_in_html_only() -> None:
    text, html = _parts(_composer().digest(_delivery("A <i>Bold</i> query engine")))
    # The phrase "<b>bold</b>" reads as the words "b bold b", which the title lacks.
    assert set(re.findall(r"<mark\b[^>]*>([^<]*)</mark>", html)) == {"query"}
    # the title's own tags stay escaped
    assert re.search(r"&lt;i&gt;Bold&lt;/i&gt; <mark\b[^>]*>query</mark>", html)
    assert "<mark>" not in text
    assert "A <i>Bold</i> query engine" in text


def test_a_digest_over_the_cap_counts_the_rest_with_a_link() -> None:
    message = _composer(max_papers=2).digest(_delivery("Paper", count=5))
    text, html = _parts(message)
    assert message["Subject"].startswith("5 new papers for you")
    assert text.count("https://huggingface.co/papers/2606.") == 2
    assert "...and 3 more on Hugging Face:\r\nhttps://huggingface.co/papers/date/2026-06-12" in text
    assert "and 3 more on Hugging Face" in html


@pytest.mark.parametrize(
    ("build", "subject", "snippets", "list_headers"),
    [
        (
            lambda c, s: c.confirmation(s, 7),
            "Confirm your Paper Digest subscription",
            ["https://digest.example.org/confirm/", "works for 7 days"],
            False,
        ),
        (
            lambda c, s: c.welcome(s),
            "Welcome to Paper Digest",
            ["https://digest.example.org/manage/", "daily email"],
            True,
        ),
        (
            lambda c, s: c.goodbye(s),
            "You are unsubscribed from Paper Digest",
            ["https://digest.example.org/", "more digests will be sent"],
            False,
        ),
    ],
    ids=["confirm", "welcome", "goodbye"],
)
def test_subscription_emails(
    build: Callable[[EmailComposer, Subscriber], EmailMessage],
    subject: str,
    snippets: list[str],
    list_headers: bool,
) -> None:
    subscriber = _delivery("x").subscriber
    message = build(_composer(), subscriber)
    text, html = _parts(message)
    assert message["Subject"] == subject
    assert message["To"] == "ada@example.org"
    for snippet in snippets:
        assert snippet in text
        assert snippet.replace("'", "&#39;") in html
    assert ("List-Unsubscribe" in message) is list_headers


def test_the_style_block_is_inlined_and_only_media_queries_stay_in_style_blocks() -> None:
    _, html = _parts(_composer().welcome(_delivery("x").subscriber))
    soup = BeautifulSoup(html, "html.parser")

    blocks = [" ".join(style.get_text().split()) for style in soup.find_all("style")]
    assert blocks and all(block.startswith((":root", "@media")) for block in blocks), blocks
    assert "prefers-color-scheme:dark" in "".join(blocks)
    card = soup.select_one("td.card")
    assert card is not None and "background-color:#ffffff" in str(card["style"])
    assert all(p.has_attr("style") for p in soup.select("td.sec p"))


def test_each_header_gets_the_class_for_its_own_name() -> None:
    """The message policy makes each header class once (cached by name): the cache
    must still give each name its own kind of header, whatever its case."""
    factory = MESSAGE_POLICY.header_factory
    assert factory["To"] is factory["to"] is factory["TO"]  # made once
    assert issubclass(factory["To"], AddressHeader)
    assert issubclass(factory["Date"], DateHeader)
    assert issubclass(factory["Subject"], UnstructuredHeader)
    assert not issubclass(factory["Subject"], AddressHeader)

    message = build_message(
        RenderedEmail(subject="hi", text="t", html="<p>h</p>"),
        sender="Digest <d@example.org>",
        recipient="a@example.org",
        headers={"Date": "Sat, 13 Jun 2026 07:00:00 +0000"},
    )
    assert message["To"].addresses[0].addr_spec == "a@example.org"
    assert message["Date"].datetime == NOW


def test_a_body_line_cannot_end_a_part_even_when_it_is_the_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # build_message picks the boundary without searching the bodies for it: they are
    # quoted-printable, so even the boundary's own line cannot appear in them as is.
    monkeypatch.setattr(rendering.random, "randrange", lambda _: 1111111111111111111)
    line = "--" + "=" * 15 + "1" * 19 + "=="
    text, html = f"{line}\n{line}--\nafter\n", f"<p>\n{line}\n{line}--\n</p>\n"
    message = build_message(
        RenderedEmail(subject="s", text=text, html=html),
        sender="d@example.org",
        recipient="a@example.org",
        headers={},
    )
    assert f"--{message.get_boundary()}" == line

    parsed = message_from_bytes(message.as_bytes(), policy=default)
    bodies = [part.get_content().replace("\r\n", "\n") for part in parsed.iter_parts()]
    assert bodies == [text, html]


def test_headers_made_once_still_carry_each_messages_values_folded_for_each_policy() -> None:
    # Headers are cached by name and value, and each folds once per policy: every
    # message must still carry its own values, written as the policy in use wants.
    def built(subject: str, recipient: str) -> EmailMessage:
        return build_message(
            RenderedEmail(subject=subject, text="t", html="<p>h</p>"),
            sender="Digest <d@example.org>",
            recipient=recipient,
            headers={},
        )

    first, second = built("Café one", "a@example.org"), built("Café two", "b@example.org")
    for message, subject, recipient in [
        (first, "Café one", "a@example.org"),
        (second, "Café two", "b@example.org"),
    ]:
        parsed = message_from_bytes(message.as_bytes(policy=SMTP), policy=default)
        assert (parsed["Subject"], parsed["To"]) == (subject, recipient)

    # ASCII with encoded words for SMTP, UTF-8 as it is for SMTPUTF8, in either order.
    assert b"\r\nSubject: =?utf-8?q?Caf=C3=A9?= one\r\n" in first.as_bytes(policy=SMTP)
    assert "\r\nSubject: Café one\r\n".encode() in first.as_bytes(policy=SMTPUTF8)
    assert "\r\nSubject: Café two\r\n".encode() in second.as_bytes(policy=SMTPUTF8)
    assert b"\r\nSubject: =?utf-8?q?Caf=C3=A9?= two\r\n" in second.as_bytes(policy=SMTP)
