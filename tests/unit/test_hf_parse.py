"""The listing parser, on every recorded Hugging Face answer."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from digest.sources import ListingFormatError
from digest.sources.hf_daily import parse_api_items
from tests.conftest import hf_fixture

DAY = dt.date(2026, 6, 12)


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
