"""Each subscriber's matches, best first, from the papers each of their queries matched.

This makes every Match of the day, so it is written for speed: each query's
papers are scored and put in order once, the Match objects of a query are made
once and shared by every subscriber who wrote it, and a subscriber's queries
are merged by sorting their ready-made rows.
"""

from __future__ import annotations

from collections.abc import Callable

from digest.matching.analysis import Document
from digest.matching.ranking import Match

Row = tuple[float, int, int]  # (-score, place among equal scores, paper): sorts best first


class Collator:
    def __init__(
        self, documents: list[Document], scores: Callable[[int], dict[int, float]]
    ) -> None:
        self._ids = [document.id for document in documents]
        self._upvotes = [document.upvotes for document in documents]
        # When scores tie: more upvotes first, then by id.
        order = sorted(range(len(documents)), key=lambda i: (-self._upvotes[i], self._ids[i]))
        self._place = [0] * len(documents)
        for place, paper in enumerate(order):
            self._place[paper] = place
        self._scores = scores  # query id -> {paper: score}
        self._rows: dict[int, list[Row]] = {}
        self._matches: dict[tuple[str, int], dict[int, Match]] = {}  # in rank order

    def __call__(
        self, entries: tuple[tuple[str, int], ...], matched: dict[int, int]
    ) -> list[Match]:
        """The matches of a subscriber with these (query text, query id) entries."""
        hit = [
            (text, query_id, mask) for text, query_id in entries if (mask := matched.get(query_id))
        ]
        if not hit:
            return []
        if len(hit) == 1:  # one query's papers, already in order
            return list(self._query_matches(hit[0][0], hit[0][1]).values())
        seen = overlap = 0
        for _, _, mask in hit:
            overlap |= seen & mask
            seen |= mask
        if overlap:  # a paper matched several of the subscriber's queries
            return self._merged(hit)
        rows: list[Row] = []
        by_paper: dict[int, Match] = {}
        for text, query_id, _ in hit:
            rows += self._query_rows(query_id)
            by_paper.update(self._query_matches(text, query_id))
        rows.sort()
        return [by_paper[paper] for _, _, paper in rows]

    def _query_rows(self, query_id: int) -> list[Row]:
        rows = self._rows.get(query_id)
        if rows is None:
            place = self._place
            scores = self._scores(query_id)
            rows = self._rows[query_id] = sorted((-s, place[p], p) for p, s in scores.items())
        return rows

    def _query_matches(self, text: str, query_id: int) -> dict[int, Match]:
        matches = self._matches.get((text, query_id))
        if matches is None:
            label, ids, upvotes = (text,), self._ids, self._upvotes
            matches = self._matches[text, query_id] = {
                p: Match(ids[p], label, -negative, upvotes[p])
                for negative, _, p in self._query_rows(query_id)
            }
        return matches

    def _merged(self, hit: list[tuple[str, int, int]]) -> list[Match]:
        """Papers that matched several queries list them all, and their scores add up."""
        totals: dict[int, float] = {}
        texts: dict[int, list[str]] = {}
        for text, query_id, _ in hit:
            for negative, _, paper in self._query_rows(query_id):
                totals[paper] = totals.get(paper, 0.0) - negative
                texts.setdefault(paper, []).append(text)
        rows = sorted((-total, self._place[p], p) for p, total in totals.items())
        return [
            Match(self._ids[p], tuple(texts[p]), -negative, self._upvotes[p])
            for negative, _, p in rows
        ]
