"""Each subscriber's matches, best first, from the papers each of their queries matched.

This makes every Match of the day, so it is written for speed: each query's
papers are scored and put in order once, the Match objects of a query are made
once and shared by every subscriber who wrote it, and a subscriber's queries
are merged by sorting their ready-made rows.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from digest.matching.analysis import Document
from digest.matching.ranking import Match

Row = tuple[int, int, int]  # (-score, place among equal scores, paper): sorts best first
Entry = tuple[str, int]  # a subscriber's query: its text, and the id of what it means
_paper = itemgetter(2)


class Collator:
    def __init__(self, documents: list[Document], scores: Callable[[int], dict[int, int]]) -> None:
        self._ids = [document.id for document in documents]
        self._upvotes = [document.upvotes for document in documents]
        # When scores tie: more upvotes first, then by id.
        order = sorted(range(len(documents)), key=lambda i: (-self._upvotes[i], self._ids[i]))
        self._place = [0] * len(documents)
        for place, paper in enumerate(order):
            self._place[paper] = place
        self._scores = scores  # query id -> {paper: score}
        self._rows: dict[int, list[Row]] = {}  # query id -> its rows, best first
        self._ready: dict[Entry, tuple[list[Row], dict[int, Match], list[Match]]] = {}

    def __call__(
        self, subscribers: list[tuple[int, tuple[Entry, ...]]], matched: dict[int, int]
    ) -> dict[int, list[Match]]:
        """For each subscriber with a match, their matches, best first.

        ``subscribers`` pairs each subscriber with their (query text, query id) entries;
        ``matched`` holds the ids of the queries that matched some paper.
        """
        results: dict[int, list[Match]] = {}
        ready = self._ready.get
        make_ready = self._make_ready
        for subscriber, entries in subscribers:
            hit = [entry for entry in entries if entry[1] in matched]
            if not hit:
                continue
            if len(hit) == 1:  # one query's papers, already in order
                results[subscriber] = list((ready(hit[0]) or make_ready(hit[0]))[2])
                continue
            rows: list[Row] = []
            by_paper: dict[int, Match] = {}
            for entry in hit:
                query_rows, query_matches, _ = ready(entry) or make_ready(entry)
                rows += query_rows
                by_paper.update(query_matches)
            if len(by_paper) < len(rows):  # a paper matched several of the subscriber's queries
                results[subscriber] = self._merged(hit)
                continue
            rows.sort()
            results[subscriber] = list(map(by_paper.__getitem__, map(_paper, rows)))  # in C
        return results

    def _make_ready(self, entry: Entry) -> tuple[list[Row], dict[int, Match], list[Match]]:
        """A query's rows in order and its Match for each paper, made once for every
        subscriber who wrote the same query the same way."""
        text, query_id = entry
        rows = self._rows.get(query_id)
        if rows is None:
            place = self._place
            scores = self._scores(query_id)
            rows = self._rows[query_id] = sorted((-s, place[p], p) for p, s in scores.items())
        label, ids, upvotes = (text,), self._ids, self._upvotes
        matches = {p: Match(ids[p], label, float(-negative), upvotes[p]) for negative, _, p in rows}
        ready = self._ready[entry] = (rows, matches, list(matches.values()))
        return ready

    def _merged(self, hit: list[Entry]) -> list[Match]:
        """Papers that matched several queries list them all, and their scores add up."""
        totals: dict[int, int] = {}
        texts: dict[int, list[str]] = {}
        for text, query_id in hit:
            for negative, _, paper in self._rows[query_id]:
                totals[paper] = totals.get(paper, 0) - negative
                texts.setdefault(paper, []).append(text)
        rows = sorted((-total, self._place[p], p) for p, total in totals.items())
        return [
            Match(self._ids[p], tuple(texts[p]), float(-negative), self._upvotes[p])
            for negative, _, p in rows
        ]
