"""The indexed matcher and the naive reference (regular expressions) give identical results."""

from __future__ import annotations

import itertools
import random

import pytest

from digest.matching import Document, Matcher
from tests.support.matching_workload import (
    TRICKY_SEPARATORS,
    TRICKY_WORDS,
    Vocabulary,
    day_of_papers,
    random_query,
    recorded_documents,
)
from tests.support.naive_matching import NaiveMatcher


def test_the_recorded_listings_are_read() -> None:
    papers = recorded_documents()
    assert len(papers) == 48
    assert len({paper.id for paper in papers}) == 48
    assert all(paper.title and paper.abstract and paper.authors for paper in papers)


@pytest.mark.parametrize("papers", [48, 100], ids=["recorded", "recorded-and-varied"])
def test_both_agree_on_the_recorded_listings(papers: int) -> None:
    day = day_of_papers(papers)
    vocabulary = Vocabulary.of(day)
    rng = random.Random(papers)
    subscribers = {n: [random_query(rng, vocabulary) for _ in range(3)] for n in range(400)}

    fast = Matcher(subscribers).match(day)

    assert fast == NaiveMatcher(subscribers).match(day)
    assert sum(len(found) for found in fast.values()) > 500  # the check compared real matches


HAND_WRITTEN = [
    '"speculative decoding"',
    '"sparse attention" OR "speculative decoding"',
    "transformer",
    "LLM agents",
    "LLMs -safety",
    "(robot OR robots) manipulation",
    "memory-efficient",
    "diffus* -video",
    "title:agent*",
    'abstract:"reinforcement learning"',
    'author:"Yuchen Xian"',
    "author:zhang title:multimodal",
    "GPT-4 OR GPT-4o",
    "3D OR 2D",
    "KV cache",
    "text-to-image",
    "mixture-of-experts",
    "naive",
    "Σ-Mem",
    "β-OPSD",
    "Para-Thinker++",
    "R1",
    "C++",
]


def test_both_agree_on_hand_written_queries_over_the_recorded_listings() -> None:
    day = day_of_papers(100)
    subscribers = {n: [query] for n, query in enumerate(HAND_WRITTEN)}
    subscribers[len(HAND_WRITTEN)] = HAND_WRITTEN

    fast = Matcher(subscribers).match(day)

    assert fast == NaiveMatcher(subscribers).match(day)
    assert len(fast) >= len(HAND_WRITTEN) - 3


def test_both_agree_on_every_tricky_word_in_every_context() -> None:
    """Every word, phrase of two words and prefix of TRICKY_WORDS, against every word in any
    context of separators: the boundaries of words (C++, GPT-4.5, accents) are where a
    fast matcher and a regular expression would part."""
    contexts = [" ", "-", ".", "+", "++", "#", "4", ".5"]
    papers = [
        Document(f"{i}", f"x{before}{word}{after}y", "")
        for i, (word, before, after) in enumerate(
            itertools.product(TRICKY_WORDS, [*contexts, "", "("], [*contexts, "", ")"])
        )
    ]
    queries = (
        TRICKY_WORDS
        + [f'"{a} {b}"' for a, b in itertools.product(TRICKY_WORDS[::3], TRICKY_WORDS[1::3])]
        + [f"{w[:4]}*" for w in TRICKY_WORDS if w[:4].isalpha()]
        + [
            f"{a}{sep}{b}"
            for a, b in itertools.pairwise(TRICKY_WORDS)
            for sep in TRICKY_SEPARATORS[3:5]
        ]
    )
    subscribers = {n: [query] for n, query in enumerate(queries)}

    assert Matcher(subscribers).match(papers) == NaiveMatcher(subscribers).match(papers)
