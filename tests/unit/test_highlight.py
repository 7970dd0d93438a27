"""Highlighting follows the query language; excluded terms are never marked."""

from __future__ import annotations

import pytest

from digest.matching import Field, highlight


def marked(text: str, queries: list[str], field: Field | None = None) -> list[str]:
    segments = highlight(text, queries, field)
    assert "".join(piece for piece, _ in segments) == text
    return [piece for piece, hit in segments if hit]


ROWS = [
    # words, plurals, case
    ("Efficient Transformers for Decoding", ["transformer"], ["Transformers"]),
    ("KV caches and a cache", ["cache"], ["caches", "cache"]),
    ("Transformation", ["transformer"], []),
    # a phrase is marked whole, and only where it occurs as a phrase
    (
        "Speculative Decoding with speculative tricks",
        ['"speculative decoding"'],
        ["Speculative Decoding"],
    ),
    ("Decoding is speculative", ['"speculative decoding"'], []),
    # prefixes
    ("Diffusion and diffuse models", ["diffus*"], ["Diffusion", "diffuse"]),
    # hyphen = space, and the words written together
    ("A memory efficient kernel", ["memory-efficient"], ["memory efficient"]),
    ("A memory-efficient kernel", ['"memory efficient"'], ["memory-efficient"]),
    ("Pretraining at scale", ["pre-training"], ["Pretraining"]),
    # accents, compatibility forms
    ("A Naïve Bayes baseline", ["naive"], ["Naïve"]),
    ("A Nai\u0308ve Bayes baseline", ["naive"], ["Nai\u0308ve"]),
    ("Eﬃcient ﬁne-tuning", ["efficient fine-tuning"], ["Eﬃcient", "ﬁne-tuning"]),
    # tricky tokens
    ("From C to C++", ["C++"], ["C++"]),
    ("From C to C++", ["C"], ["C"]),
    ("GPT-4 and GPT-4.5", ["GPT-4"], ["GPT-4"]),
    # excluded terms are never marked, even where the query matched
    ("Image diffusion, not video", ["diffusion -video"], ["diffusion"]),
    ("Image diffusion", ["diffusion NOT image"], ["diffusion"]),
    # OR marks whichever alternative occurs
    ("Flow matching", ["diffusion OR flow"], ["Flow"]),
    # several queries; overlapping marks merge
    ("Sparse attention kernels", ['"sparse attention"', "attention"], ["Sparse attention"]),
    # a query that no longer compiles marks nothing
    ("Sparse attention", ['"broken'], []),
    # author: terms are not marked in titles or abstracts
    ("Tri Dao on attention", ['author:"Tri Dao"'], []),
]


@pytest.mark.parametrize(("text", "queries", "expected"), ROWS)
def test_highlight(text: str, queries: list[str], expected: list[str]) -> None:
    assert marked(text, queries) == expected


def test_fields_mark_only_their_part_of_the_paper() -> None:
    assert marked("Agents", ["title:agents"], Field.TITLE) == ["Agents"]
    assert marked("Agents", ["title:agents"], Field.ABSTRACT) == []
    assert marked("Agents", ["abstract:agents"], Field.TITLE) == []
    assert marked("Agents", ["agents"], Field.ABSTRACT) == ["Agents"]
    assert marked("Tri Dao", ['author:"Tri Dao"'], Field.AUTHOR) == ["Tri Dao"]


def test_text_without_marks_is_one_plain_piece_and_empty_text_no_piece() -> None:
    assert highlight("Nothing here", ["diffusion"]) == [("Nothing here", False)]
    assert highlight("", ["diffusion"]) == []
