"""Each subscriber's matches, best first, from the papers each of their queries matched.

This makes every Match of the day (hundreds of thousands), so it is written
for speed, leaving per-subscriber work to C:

- each query's papers are scored and ordered once, as integer sort keys
  (score, then the paper's place among equal scores: more upvotes, then id);
- the Match objects of a query are made once and shared by every subscriber
  who wrote that query the same way (Match is immutable);
- a subscriber's queries are merged by sorting their keys together, unless a
  paper matched several of them: then its scores add up (the rare slow path).
"""

from __future__ import annotations

from collections.abc import Callable

from digest.matching.analysis import Document
from digest.matching.ranking import Match

Entry = tuple[str, int]  # a subscriber's query: its text, and the id of what it means
Ready = tuple[list[int], dict[int, Match], list[Match]]  # keys in order, Match by key, in order


class Collator:
    def __init__(self, documents: list[Document], scores: Callable[[int], dict[int, int]]) -> None:
        self._ids = [document.id for document in documents]
        self._upvotes = [document.upvotes for document in documents]
        self._size = len(documents)
        order = sorted(range(self._size), key=lambda i: (-self._upvotes[i], self._ids[i]))
        self._place = [0] * self._size
        for place, paper in enumerate(order):
            self._place[paper] = place
        self._score = scores  # query id -> {paper: score}, scores in whole numbers
        self._scored: dict[int, dict[int, int]] = {}
        self._keys: dict[int, list[int]] = {}  # query id -> its sort keys, best first
        self._ready: dict[Entry, Ready] = {}

    def key(self, paper: int, score: int) -> int:
        """Sorts best first: higher score, then the paper's place; ``% size`` is the paper."""
        return (-score * self._size + self._place[paper]) * self._size + paper

    def __call__(
        self, subscribers: list[tuple[int, tuple[Entry, ...]]], matched: dict[int, int]
    ) -> dict[int, list[Match]]:
        """For each subscriber with a match, their matches, best first.

        ``subscribers`` pairs each subscriber with their (query text, query id) entries;
        ``matched`` maps the queries that matched to their papers (a bit mask).
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
            keys: list[int] = []
            by_key: dict[int, Match] = {}
            union = 0
            for entry in hit:
                query_keys, query_matches, _ = ready(entry) or make_ready(entry)
                keys += query_keys
                by_key.update(query_matches)
                union |= matched[entry[1]]
            if union.bit_count() < len(keys):  # a paper matched several of the queries
                results[subscriber] = self._merged(hit)
                continue
            keys.sort()
            results[subscriber] = list(map(by_key.__getitem__, keys))  # all in C
        return results

    def _scores(self, query_id: int) -> dict[int, int]:
        scores = self._scored.get(query_id)
        if scores is None:
            scores = self._scored[query_id] = self._score(query_id)
        return scores

    def _query_keys(self, query_id: int) -> list[int]:
        keys = self._keys.get(query_id)
        if keys is None:
            key = self.key
            keys = self._keys[query_id] = sorted(
                key(paper, score) for paper, score in self._scores(query_id).items()
            )
        return keys

    def _make_ready(self, entry: Entry) -> Ready:
        text, query_id = entry
        keys = self._query_keys(query_id)
        scores = self._scores(query_id)
        label, ids, upvotes, size = (text,), self._ids, self._upvotes, self._size
        by_key = {
            k: Match(ids[k % size], label, float(scores[k % size]), upvotes[k % size]) for k in keys
        }
        ready = self._ready[entry] = (keys, by_key, list(by_key.values()))
        return ready

    def _merged(self, hit: list[Entry]) -> list[Match]:
        """Papers that matched several queries list them all, and their scores add up."""
        totals: dict[int, int] = {}
        texts: dict[int, list[str]] = {}
        for text, query_id in hit:
            for paper, score in self._scores(query_id).items():
                totals[paper] = totals.get(paper, 0) + score
                texts.setdefault(paper, []).append(text)
        ids, upvotes, size = self._ids, self._upvotes, self._size
        return [
            Match(ids[p], tuple(texts[p]), float(totals[p]), upvotes[p])
            for p in (k % size for k in sorted(self.key(p, s) for p, s in totals.items()))
        ]
