"""Every email as a reader's client and a mail server see it: headers, parts, size, layout.

Built from the 30 real papers of the recorded listing (tests/support/emails.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime

import pytest
from bs4 import BeautifulSoup, Tag

from digest.emails import (
    Pick,
    compact_count,
    excerpt_showing_a_match,
    long_days_label,
    web_url,
)
from digest.errors import ConfigError
from digest.models import RunStatus
from tests.support.emails import (
    BROAD_QUERIES,
    DAY,
    FOCUSED_QUERIES,
    NOW,
    composer,
    picks_for,
    recorded_papers,
    subscriber,
)

GMAIL_CLIPS_AT = 102 * 1024
SIZE_BUDGET = 100_000

MESSAGES: dict[str, Callable[[], EmailMessage]] = {
    "digest": lambda: composer().digest_for(subscriber(BROAD_QUERIES), picks_for(BROAD_QUERIES)),
    "confirm": lambda: composer().confirmation(subscriber(FOCUSED_QUERIES), 7),
    "welcome": lambda: composer().welcome(subscriber(FOCUSED_QUERIES)),
    "goodbye": lambda: composer().goodbye(subscriber(FOCUSED_QUERIES)),
    "alert": lambda: composer().alert(DAY, RunStatus.FAILED, "HTTP 503"),
}
LIST_MAIL = {"digest", "welcome"}  # sent to people on the list: one-click unsubscribe headers


def _reparsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def _soup(message: EmailMessage) -> BeautifulSoup:
    part = message.get_body(("html",))
    assert part is not None
    return BeautifulSoup(str(part.get_content()), "html.parser")


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_message_parses_cleanly_with_the_required_headers(name: str) -> None:
    parsed = _reparsed(MESSAGES[name]())

    assert [part.defects for part in parsed.walk()] == [[] for _ in parsed.walk()]
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["From"] == "Paper Digest <digest@example.org>"
    assert parsed["To"] == ("admin@example.org" if name == "alert" else "ada@example.org")
    assert parsed["Subject"] and "\n" not in parsed["Subject"]
    assert parsedate_to_datetime(parsed["Date"]) == NOW
    assert re.fullmatch(r"<[^<>@\s]+@example\.org>", parsed["Message-ID"])
    if name in LIST_MAIL:
        assert re.fullmatch(
            r"<https://digest\.example\.org/unsubscribe/[\w.-]+>,"
            r"\s*<mailto:digest@example\.org\?subject=unsubscribe>",
            parsed["List-Unsubscribe"].strip(),  # a long value is folded onto a new line
        )
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    else:
        assert "List-Unsubscribe" not in parsed
    if name == "alert":
        assert parsed["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("thumbnails", [False, True], ids=["default", "thumbnails"])
def test_a_digest_of_25_real_papers_stays_under_gmails_clipping_size(thumbnails: bool) -> None:
    picks = picks_for(BROAD_QUERIES)
    assert len(picks) == 26  # 25 shown, 1 counted
    message = composer(thumbnails=thumbnails).digest_for(subscriber(BROAD_QUERIES), picks)
    size = len(message.as_bytes())
    html = len(_soup(message).encode())
    text = len(_text(message).encode())

    print(
        f"digest of 25 papers (thumbnails {thumbnails}): "
        f"message {size} B, html {html} B, text {text} B"
    )
    assert size < SIZE_BUDGET < GMAIL_CLIPS_AT
    assert len(_soup(message).select("td.paper")) == 25


def test_the_plain_text_is_a_numbered_digest_wrapped_at_72_columns() -> None:
    picks = picks_for(BROAD_QUERIES)
    text = _text(composer().digest_for(subscriber(BROAD_QUERIES), picks))
    lines = text.splitlines()

    too_long = [line for line in lines if len(line) > 72 and "https://" not in line]
    assert too_long == []
    # A long URL may pass column 72, but then it is alone on its line (after its label).
    for line in lines:
        if len(line) > 72:
            assert re.fullmatch(r"\s*([\w ]+:?\s+)?https://\S+( \(★ [\dk.]+\))?", line), line
    numbers = [int(m) for m in re.findall(r"^ ?(\d+)\. ", text, flags=re.MULTILINE)]
    assert numbers == list(range(1, 26))
    for label in ("Paper", "arXiv", "PDF"):
        assert len(re.findall(rf"^    {label} +https://\S+$", text, flags=re.MULTILINE)) == 25
    assert not re.search(r"</?(mark|a|p|td|b|span)\b", text)  # no markup, not stripped HTML
    assert "&amp;" not in text
    assert "...and 1 more on Hugging Face:\nhttps://huggingface.co/papers/date/2026-06-12" in text


def test_each_paper_card_has_its_links_authors_summary_and_highlights() -> None:
    papers = {paper.id: paper for paper in recorded_papers()}
    message = composer().digest_for(subscriber(FOCUSED_QUERIES), picks_for(FOCUSED_QUERIES))
    soup = _soup(message)
    cards = soup.select("td.paper")
    assert len(cards) == 5

    for card in cards:
        title = card.select_one("h2 a")
        assert isinstance(title, Tag)
        paper_id = str(title["href"]).rsplit("/", 1)[-1]
        paper = papers[paper_id]
        assert title["href"] == f"https://huggingface.co/papers/{paper_id}"
        assert " ".join(title.get_text().split()) == " ".join(paper.title.split())
        links = {a.get_text(): a["href"] for a in card.select("p.links a")}
        assert links["arXiv"] == f"https://arxiv.org/abs/{paper_id}"
        assert links["PDF"] == f"https://arxiv.org/pdf/{paper_id}"
        assert links.get("Code") == paper.github_repo
        assert links.get("Project page") == paper.project_page
        row = card.select_one("p.links")
        assert row is not None and f"▲\xa0{paper.upvotes}\xa0upvote" in row.get_text()
        if paper.github_repo and paper.github_stars is not None:
            assert f"★\xa0{compact_count(paper.github_stars)}" in row.get_text()
        authors = card.select_one("p.by")
        assert authors is not None
        assert authors.get_text().startswith(", ".join(paper.authors[:3]))
        assert authors.get_text().endswith(" et al.") is (len(paper.authors) > 3)
        summary = card.select_one("td.tldr")
        assert (summary is not None) is bool(paper.ai_summary)
        excerpt = card.select_one("p.ex")
        assert excerpt is not None
        cut = excerpt.get_text()
        body = cut.removeprefix("…").removesuffix("…")
        abstract = " ".join(paper.abstract.split())
        assert len(cut) <= 321 and body in abstract
        start, end = abstract.index(body), abstract.index(body) + len(body)
        assert (start == 0) is not cut.startswith("…")  # the start, or a later sentence
        assert start == 0 or abstract[start - 2 : start] in (". ", "? ", "! ")
        assert (end == len(abstract)) is not cut.endswith("…")
        assert end == len(abstract) or abstract[end] in " ,;:."  # cut at a word boundary
        why = card.select_one("p.why")
        assert why is not None and why.get_text().startswith("matched: ")
        matched = [b.get_text() for b in why.select("b")]
        assert matched and set(matched) <= set(FOCUSED_QUERIES)
        assert card.select("mark"), f"{paper_id}: no matched word is marked"
    assert not soup.select("img")


def test_header_preheader_and_footer() -> None:
    message = composer().digest_for(subscriber(FOCUSED_QUERIES), picks_for(FOCUSED_QUERIES))
    soup = _soup(message)

    header = soup.select_one("td.hd")
    assert header is not None
    assert "Friday 12 June 2026" in header.get_text()
    assert "5 new papers matched your queries" in header.get_text()
    preheader = soup.select_one("div.pre")
    assert preheader is not None
    assert "display:none" in str(preheader["style"])
    assert preheader.get_text().startswith("Revisiting Articulated Parts Perception in Robot")
    assert "· and 3 more" in preheader.get_text()
    footer = soup.select_one("td.foot")
    assert footer is not None
    assert "because you subscribed to Paper Digest as ada@example.org" in footer.get_text()
    assert "Paper Digest, 1 Example Lane, 10115 Berlin, Germany" in footer.get_text()
    links = {a.get_text(): a["href"] for a in footer.select("a")}
    assert links == {
        "Manage your queries": "https://digest.example.org/manage/manage-token-for-7",
        "Unsubscribe": "https://digest.example.org/unsubscribe/unsubscribe-token-for-7",
    }
    assert "Paper Digest, 1 Example Lane" in _text(message)


def test_the_footer_leaves_out_the_address_line_when_none_is_set() -> None:
    message = composer(postal_address=None).welcome(subscriber(FOCUSED_QUERIES))
    footer = _soup(message).select_one("td.foot")
    assert footer is not None
    assert [p.get_text() for p in footer.select("p")][-1] == ("Manage your queries · Unsubscribe")


def test_thumbnails_appear_only_when_enabled() -> None:
    picks = picks_for(FOCUSED_QUERIES)
    shown = _soup(composer(thumbnails=True).digest_for(subscriber(FOCUSED_QUERIES), picks))
    hidden = _soup(composer().digest_for(subscriber(FOCUSED_QUERIES), picks))

    images = shown.select("td.paper img")
    assert len(images) == 5
    assert all(
        str(img["src"]).startswith("https://cdn-thumbnails.huggingface.co/") for img in images
    )
    assert all(img["alt"] == "" and img["width"] == "542" for img in images)
    assert hidden.select("img") == []


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,<b>x</b>", "https://ex ample.org", "//x.org"]
)
def test_a_listing_cannot_put_a_script_or_odd_link_into_the_email(link: str) -> None:
    [paper] = [p for p in recorded_papers() if p.id == "2606.13392"]
    paper.github_repo = link
    paper.project_page = link
    paper.thumbnail_url = link
    message = composer(thumbnails=True).digest_for(
        subscriber(FOCUSED_QUERIES), [Pick(paper, ['"sparse attention"'], 1.0)]
    )
    soup = _soup(message)
    hrefs = [str(a["href"]) for a in soup.select("a")] + [
        str(img["src"]) for img in soup.select("img")
    ]
    assert all(href.startswith("https://") for href in hrefs), hrefs
    assert "Code" not in _text(message) and "Project" not in _text(message)


def test_every_email_needs_no_script() -> None:
    for build in MESSAGES.values():
        soup = _soup(build())
        assert soup.select("script, iframe, form, object, embed") == []
        for tag in soup.find_all(True):
            assert not [name for name in tag.attrs if name.lower().startswith("on")], tag.name


def test_the_alert_tells_the_admin_what_failed_and_how_to_retry() -> None:
    long_error = "HTTP 503 from the listing\n" + "x" * 5000
    message = composer().alert(DAY, RunStatus.FAILED, long_error)
    text = _text(message)

    assert message["Subject"] == "Paper Digest: the run for Fri 12 Jun 2026 failed"
    assert "    HTTP 503 from the listing" in text
    assert "[…cut]" in text and len(text) < 5500
    assert "    digest run --date 2026-06-12" in text
    assert "Nothing was stored" in text
    assert "DIGEST_ADMIN_EMAIL is set to admin@example.org" in " ".join(text.split())
    pre = _soup(message).select("pre")
    assert pre[0].get_text().startswith("HTTP 503 from the listing\nxxx")


def test_an_alert_for_another_status_says_so() -> None:
    message = composer().alert(DAY, RunStatus.SENT, "sending stopped: SMTP unreachable")
    assert message["Subject"] == "Paper Digest: the run for Fri 12 Jun 2026 ended as sent"
    assert "Nothing was stored" not in _text(message)


def test_no_alert_without_an_admin_address() -> None:
    silent = composer()
    silent._admin_email = None
    assert silent.admin_email is None
    with pytest.raises(ConfigError, match="DIGEST_ADMIN_EMAIL is not set"):
        silent.alert(DAY, RunStatus.FAILED, "boom")


def test_an_empty_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one paper"):
        composer().digest_for(subscriber(FOCUSED_QUERIES), [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("  http://x.org/p  ", "http://x.org/p"),
        ("javascript:alert(1)", None),
        ("ftp://x.org", None),
        ("https://", None),
        ('https://x.org/"onmouseover="x', None),
        (None, None),
        ("", None),
    ],
)
def test_web_url(value: str | None, expected: str | None) -> None:
    assert web_url(value) == expected


@pytest.mark.parametrize(
    ("count", "label"), [(0, "0"), (251, "251"), (1000, "1k"), (1234, "1.2k"), (25300, "25k")]
)
def test_compact_count(count: int, label: str) -> None:
    assert compact_count(count) == label


def test_long_days_label() -> None:
    assert long_days_label([DAY]) == "Friday 12 June 2026"
    assert long_days_label([DAY, dt.date(2026, 6, 10)]) == "10 – 12 June 2026"
    assert long_days_label([dt.date(2026, 5, 29), DAY]) == "29 May – 12 June 2026"


def test_an_excerpt_moves_to_the_sentence_that_matched() -> None:
    text = "Nothing to see in this sentence. " * 20 + "Here a transformer appears. The end."

    moved = excerpt_showing_a_match(text, ["transformer"], title_marked=False, limit=100)
    kept = excerpt_showing_a_match(text, ["transformer"], title_marked=True, limit=100)
    unmatched = excerpt_showing_a_match(text, ["zeppelin"], title_marked=False, limit=100)

    assert moved == "…Here a transformer appears. The end."
    assert kept.startswith("Nothing to see") and kept.endswith("…")
    assert unmatched == kept


def test_one_paper_is_marked_for_each_readers_own_queries() -> None:
    # Marking is cached across digests: two readers of the same paper, in the same
    # process, must each see the words of their own query marked, not the other's.
    paper = recorded_papers()[0]
    first, second = [w.lower() for w in paper.title.split() if w.isalpha() and len(w) > 5][:2]
    email = composer()

    def marked(query: str) -> set[str]:
        message = email.digest_for(subscriber([query]), [Pick(paper, [query])])
        return {mark.get_text().lower() for mark in _soup(message).select("h2 mark")}

    assert marked(first) == {first}
    assert marked(second) == {second}
    assert marked(first) == {first}


def _both_parts(message: EmailMessage) -> str:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()) + str(html.get_content())


# Every field of a paper that its card shows, another value for it, and how that shows.
_CHANGES = {
    "title": ("Sparse attention, revisited", " 1. Sparse attention, revisited"),
    "abstract": ("Attention, sparse and fast.", "Attention, sparse and fast."),
    "authors": (["Somebody Else"], "Somebody Else"),
    "upvotes": (987, "987 upvotes"),
    "github_repo": ("https://github.com/example/other", "https://github.com/example/other"),
    "github_stars": (2500, "2.5k"),
    "project_page": ("https://example.org/other", "https://example.org/other"),
    "ai_summary": ("Another summary.", "Another summary."),
    "thumbnail_url": ("https://example.org/other.png", "https://example.org/other.png"),
}


@pytest.mark.parametrize("field", sorted(_CHANGES))
def test_a_paper_shown_again_shows_what_changed(field: str) -> None:
    # Paper views are cached across digests (and runs, in a worker): a paper whose
    # upvotes, stars or text changed since it was last shown must show the new value.
    paper = next(p for p in recorded_papers() if p.github_repo and p.github_stars is not None)
    value, shown = _CHANGES[field]
    email = composer(thumbnails=True)
    reader = subscriber(["attention"])

    before = _both_parts(email.digest_for(reader, [Pick(paper, ["attention"])]))
    setattr(paper, field, value)
    after = _both_parts(email.digest_for(reader, [Pick(paper, ["attention"])]))

    assert shown not in before
    assert shown in after


def test_a_paper_shows_each_readers_queries_its_place_and_the_thumbnail_setting() -> None:
    paper, other = recorded_papers()[:2]
    email = composer()  # one composer, as in a run: its cards are cached too
    first = email.digest_for(subscriber(["attention"]), [Pick(paper, ["attention"])])
    second = email.digest_for(subscriber(["robot"]), [Pick(paper, ["robot"])])
    assert "matched: attention" in _both_parts(first)
    assert "matched: robot" in _both_parts(second)

    # Second place in another reader's digest: numbered 2 there.
    picks = [Pick(other, ["robot"], score=2.0), Pick(paper, ["robot"], score=1.0)]
    text = _both_parts(email.digest_for(subscriber(["robot"]), picks))
    assert re.search(r"^ 2\. " + re.escape(paper.title.split()[0]), text, re.MULTILINE)

    assert paper.thumbnail_url
    thumbnails = composer(thumbnails=True).digest_for(subscriber(["x"]), [Pick(paper, ["x"])])
    plain = composer(thumbnails=False).digest_for(subscriber(["x"]), [Pick(paper, ["x"])])
    assert paper.thumbnail_url in _both_parts(thumbnails)
    assert paper.thumbnail_url not in _both_parts(plain)
