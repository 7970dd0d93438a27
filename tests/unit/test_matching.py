"""The basics every query relies on: words (AND), phrases, whole words, plurals, highlighting."""

from __future__ import annotations

import pytest

from digest.matching import Document, Matcher, QueryError, compile_query, highlight

PAPER = Document(
    id="p1",
    title="Efficient Transformers for Speculative Decoding",
    abstract="We study KV caches and sparse attention in large language models.",
    upvotes=3,
)


def matches(query: str, doc: Document = PAPER) -> bool:
    return bool(Matcher({1: [query]}).match([doc]))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("transformer", True),  # singular matches the plural in the title
        ("TRANSFORMERS", True),  # case-insensitive
        ("transform", False),  # whole words only
        ("transformation", False),
        ("cache", True),  # plural in the abstract
        ("speculative attention", True),  # every word, in title or abstract
        ("speculative diffusion", False),  # one word missing
        ('"sparse attention"', True),  # phrase present
        ('"attention sparse"', False),  # the words, but not as the phrase
        ('"language model"', True),  # phrase with a plural
        ('"speculative decoding" cache', True),
    ],
)
def test_query_semantics(query: str, expected: bool) -> None:
    assert matches(query) is expected


def test_matches_say_which_queries_matched_and_rank_by_score() -> None:
    other = Document(id="p2", title="Caches everywhere", abstract="A cache study.", upvotes=1)
    result = Matcher({7: ["cache", "diffusion", "transformer"]}).match([PAPER, other])

    assert list(result) == [7]
    by_paper = {m.paper_id: m for m in result[7]}
    assert by_paper["p1"].queries == ("cache", "transformer")
    assert by_paper["p2"].queries == ("cache",)
    # p1 matches two queries (one in the title), p2 one: p1 ranks first.
    assert [m.paper_id for m in result[7]] == ["p1", "p2"]


def test_subscribers_without_matches_are_left_out() -> None:
    assert Matcher({1: ["diffusion"], 2: ["transformer"]}).match([PAPER]).keys() == {2}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('"unbalanced', "the quote at character 1 is never closed"),
        ("!!! ???", "'!!!' at character 1 has no letters or digits"),
        ("x" * 501, "501 characters long; the limit is 500"),
        (" ".join(f"w{i}" for i in range(31)), "31 terms; the limit is 30"),
    ],
)
def test_malformed_queries_are_refused_with_the_reason(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        compile_query(query)


def test_highlight_marks_the_query_words_and_keeps_the_text() -> None:
    title = "Efficient Transformers for Speculative Decoding"
    segments = highlight(title, ["transformer", '"speculative decoding"'])
    assert "".join(text for text, _ in segments) == title
    assert [text for text, hit in segments if hit] == ["Transformers", "Speculative Decoding"]


def test_highlight_without_matching_words_is_one_plain_piece() -> None:
    assert highlight("Nothing here", ["diffusion"]) == [("Nothing here", False)]
