"""How well a paper matches: the score, and the order a digest lists papers in.

A paper's score for a subscriber adds up, over each of their queries that
matched it, every word or phrase the query looks for (not the excluded ones)
that the paper contains: 3 for each found in the title, 1 in the abstract and
3 among the authors. Matching more queries, and matching in the title,
therefore rank higher; equal scores go to the paper with more upvotes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# Whole numbers, so that scores add up and sort exactly.
TITLE_WEIGHT = 3
ABSTRACT_WEIGHT = 1
AUTHOR_WEIGHT = 3


class Match(NamedTuple):
    """A paper that matched some of one subscriber's queries.

    Immutable, so that subscribers who wrote the same query share one object
    per paper (a day makes hundreds of thousands of them).
    """

    paper_id: str
    queries: tuple[str, ...]  # the subscriber's queries that matched, in their order
    score: float
    upvotes: int = 0


def rank(matches: Iterable[Match]) -> list[Match]:
    """Best score first; ties go to more upvotes, then to the paper id for a stable order."""
    return sorted(matches, key=lambda m: (-m.score, -m.upvotes, m.paper_id))
