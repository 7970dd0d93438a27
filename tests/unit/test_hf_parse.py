"""The listing parser, on every recorded Hugging Face answer (all of tests/data/fixtures/hf/)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

from digest.sources import ListingFormatError
from digest.sources.hf_parse import parse_api_items, parse_daily_page
from tests.conftest import FIXTURES, hf_fixture

DAY = dt.date(2026, 6, 12)
PAGE_DAY = dt.date(2024, 8, 1)


def embedded_json(page: bytes) -> dict[str, object]:
    """The data-props of the DailyPapers element, taken out with a regular expression and
    html.unescape: a second reading that does not share the parser's BeautifulSoup path."""
    found = re.search(rb'data-target="DailyPapers"\s+data-props="([^"]*)"', page)
    assert found is not None
    props = json.loads(html.unescape(found.group(1).decode()))
    assert isinstance(props, dict)
    return props


def page_with_props(props: str) -> bytes:
    element = f'<div data-target="DailyPapers" data-props="{props}"></div>'
    return f"<html><body>{element}</body></html>".encode()


def test_every_recorded_hf_file_is_parsed_by_a_test_here() -> None:
    parsed_here = {
        "api-daily_papers-2026-06-12.json",
        "api-daily_papers-2026-07-31-subset.json",
        "page-papers-2024-08-01.html",
        "page-paper-2509.24002-prettified.html",
    }
    assert {path.name for path in (FIXTURES / "hf").iterdir()} == parsed_here


def test_the_2024_08_01_page_gives_the_records_of_its_embedded_json() -> None:
    body = hf_fixture("page-papers-2024-08-01.html")

    page = parse_daily_page(body)

    assert page.day == PAGE_DAY
    items = embedded_json(body)["dailyPapers"]
    assert page.records == parse_api_items(json.dumps(items).encode(), PAGE_DAY)
    # And against the recording itself, checked by hand:
    assert len(page.records) == 13
    first = page.records[0]
    assert (first.arxiv_id, first.title) == ("2407.21783", "The Llama 3 Herd of Models")
    assert (first.upvotes, first.num_comments) == (94, 5)
    assert first.authors[:3] == ("Abhimanyu Dubey", "Abhinav Jauhri", "Abhinav Pandey")
    assert first.abstract.startswith("Modern artificial intelligence (AI) systems are powered")
    assert "\n" not in first.abstract
    assert first.published_at == dt.datetime(2024, 7, 31, 17, 54, 27, tzinfo=dt.UTC)
    assert first.listed_on == PAGE_DAY
    assert first.thumbnail_url == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2407.21783.png"
    )
    assert first.ai_summary is None  # the 2024 page predates AI summaries
    assert page.records[-1].arxiv_id == "2404.01300"


def test_a_single_paper_page_is_refused_as_not_a_listing() -> None:
    with pytest.raises(ListingFormatError, match="not a Daily Papers listing page"):
        parse_daily_page(hf_fixture("page-paper-2509.24002-prettified.html"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Too many requests</body></html>", "not a Daily Papers listing page"),
        (b'<div data-target="DailyPapers"></div>', "the DailyPapers element has no data-props"),
        (page_with_props("{not json"), "data-props is not JSON"),
        (page_with_props("[1, 2]"), "data-props is list, not an object"),
        (page_with_props("{&quot;dailyPapers&quot;: []}"), "does not say which day the page shows"),
        (page_with_props("{&quot;date&quot;: &quot;soon&quot;}"), "a date that is not a day"),
        (page_with_props("{&quot;date&quot;: &quot;2024-08-01&quot;}"), "no dailyPapers list"),
        (
            page_with_props(
                "{&quot;date&quot;: &quot;2024-08-01&quot;, &quot;dailyPapers&quot;: [{}]}"
            ),
            "item 1 has no paper object",
        ),
    ],
)
def test_a_broken_page_names_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ListingFormatError, match=message):
        parse_daily_page(body)


def test_a_page_for_a_day_without_papers_says_which_day_it_shows() -> None:
    page = parse_daily_page(
        page_with_props(
            "{&quot;date&quot;: &quot;2026-06-12T00:00:00.000Z&quot;, &quot;dailyPapers&quot;: []}"
        )
    )
    assert (page.day, page.records) == (DAY, [])


def test_api_listing_of_2026_06_12_gives_every_paper_with_its_fields() -> None:
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)

    assert len(records) == 30
    assert len({r.arxiv_id for r in records}) == 30
    first = records[0]
    assert first.arxiv_id == "2606.00467"
    assert first.title.startswith("On the Limits of LLM Adaptability")
    assert first.abstract.startswith("Large Language Models (LLMs) are increasingly used")
    assert first.authors == ("Etienne Casanova", "Rafal Kocielnik", "R. Michael Alvarez")
    assert first.listed_on == DAY
    assert first.published_at == dt.datetime(2026, 5, 30, tzinfo=dt.UTC)
    assert first.ai_summary is not None
    assert first.ai_summary.startswith("Large language models")
    assert "toxicity detection" in first.ai_keywords
    assert first.organization == "California institute of technology"
    assert first.thumbnail_url
    assert first.thumbnail_url.endswith("/2606.00467.png")
    by_id = {r.arxiv_id: r for r in records}
    assert by_id["2606.13392"].upvotes == 103  # paper.upvotes, the only place upvotes live
    assert by_id["2606.13392"].github_repo == "https://github.com/MiniMax-AI/MSA"
    assert by_id["2606.00467"].github_repo is None


def test_api_listing_without_ai_fields_parses() -> None:
    records = parse_api_items(hf_fixture("api-daily_papers-2026-07-31-subset.json"), DAY)

    assert next(r.arxiv_id for r in records) == "2607.23193"
    assert len(records) == 5
    assert all(r.ai_summary is None and r.ai_keywords == () for r in records)
    assert records[0].authors[:2] == ("Jinsen Su", "Yongdong Luo")
    assert records[0].github_stars is not None


def test_abstract_whitespace_is_collapsed() -> None:
    body = json.dumps(
        [{"paper": {"id": "1", "title": "A\n  title", "summary": "one\ntwo   three"}}]
    )
    [record] = parse_api_items(body.encode(), DAY)
    assert (record.title, record.abstract) == ("A title", "one two three")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>rate limited</html>", "the answer is not JSON"),
        (b'{"error": "bad date"}', "expected a JSON array of papers, got dict"),
        (b'[{"paper": {"id": "1", "title": "t"}}, {"title": "x"}]', "item 2 has no paper object"),
        (b'[{"paper": {"title": "t"}}]', "item 1 has no paper.id"),
        (b'[{"paper": {"id": "1"}}]', "item 1 has no paper.title"),
        (b'[{"paper": {"id": "1", "title": "t", "authors": "x"}}]', "item 1 has paper.authors"),
        (b"[1]", "item 1 is not an object"),
        (b'[{"paper": {"id": "", "title": "t"}}]', "item 1 has no paper.id"),
        (b'[{"paper": {"id": 2401.1, "title": "t"}}]', "item 1 has no paper.id"),
        (b'[{"paper": {"id": "a b", "title": "t"}}]', "item 1 has a paper.id that is not an arXiv"),
        (
            b"[" + b'{"paper": {"id": "1", "title": "t"}},' * 2 + b"{}]",
            "item 3 has no paper object",
        ),
        (b'[{"paper": {"id": "1", "title": "t"}}', "the answer is not JSON"),  # cut short
    ],
)
def test_a_broken_answer_names_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ListingFormatError, match=message):
        parse_api_items(body, DAY)


def test_missing_optional_fields_are_fine() -> None:
    [record] = parse_api_items(b'[{"paper": {"id": "2601.00001", "title": "Only a title"}}]', DAY)
    assert record.authors == ()
    assert record.abstract == ""
    assert record.upvotes == 0
    assert record.num_comments == 0
    assert (record.github_repo, record.github_stars, record.project_page) == (None, None, None)
    assert (record.ai_summary, record.ai_keywords, record.organization) == (None, (), None)
    assert record.published_at is None


def test_optional_fields_of_the_wrong_shape_count_as_missing() -> None:
    item = {
        "paper": {
            "id": "2601.00001",
            "title": "T",
            "upvotes": "many",
            "ai_keywords": "not a list",
            "githubRepo": "https://github.com/" + "x" * 600,
            "publishedAt": "yesterday",
            "authors": [{"name": "Ada"}, {"user": "no name"}, "Bob", {"name": " Cy "}],
        },
        "numComments": -1,
        "organization": "not an object",
    }
    [record] = parse_api_items(json.dumps([item]).encode(), DAY)
    assert record.upvotes == 0
    assert record.num_comments == 0
    assert record.ai_keywords == ()
    assert record.github_repo is None  # longer than the column holds
    assert record.published_at is None
    assert record.authors == ("Ada", "Cy")
    assert record.organization is None


def test_nul_characters_are_dropped_because_postgresql_refuses_them() -> None:
    body = json.dumps(
        [
            {
                "paper": {
                    "id": "2601.00001",
                    "title": "A\u0000B",
                    "summary": "x\u0000y",
                    "authors": [{"name": "\u0000"}, {"name": "Ada\u0000"}],
                    "ai_keywords": ["k\u0000"],
                }
            }
        ]
    )
    [record] = parse_api_items(body.encode(), DAY)
    assert (record.title, record.abstract, record.authors) == ("AB", "xy", ("Ada",))
    assert record.ai_keywords == ("k",)


def test_every_field_people_want_is_read_from_an_item() -> None:
    item = {
        "paper": {
            "id": "2606.13392",
            "title": "MSA",
            "summary": "Abstract.",
            "authors": [{"name": "B"}, {"name": "A"}],
            "publishedAt": "2026-06-11T08:00:00.000Z",
            "upvotes": 103,
            "githubRepo": "https://github.com/MiniMax-AI/MSA",
            "githubStars": 420,
            "projectPage": "https://example.org/msa",
            "ai_summary": "Short.",
            "ai_keywords": ["sparse attention", "kernel"],
        },
        "numComments": 4,
        "thumbnail": "https://cdn.example.org/2606.13392.png",
        "organization": {"name": "minimax", "fullname": "MiniMax"},
    }
    [record] = parse_api_items(json.dumps([item]).encode(), DAY)
    assert record.arxiv_id == "2606.13392"
    assert (record.title, record.abstract, record.authors) == ("MSA", "Abstract.", ("B", "A"))
    assert record.published_at == dt.datetime(2026, 6, 11, 8, tzinfo=dt.UTC)
    assert record.listed_on == DAY
    assert (record.upvotes, record.num_comments) == (103, 4)
    assert (record.github_repo, record.github_stars) == ("https://github.com/MiniMax-AI/MSA", 420)
    assert record.project_page == "https://example.org/msa"
    assert (record.ai_summary, record.ai_keywords) == ("Short.", ("sparse attention", "kernel"))
    assert record.thumbnail_url == "https://cdn.example.org/2606.13392.png"
    assert record.organization == "MiniMax"
