"""Each subscriber's matches, best first, from the papers each distinct query matched.

This makes every Match of the day (hundreds of thousands), so it works on
whole arrays rather than on one subscriber at a time:

1. each distinct query's papers are scored and put in digest order once
   (``rank_queries``);
2. each distinct query *text* gets one Match per paper it matched, shared by
   every subscriber who wrote that text;
3. every (subscriber's query, paper) row is sorted by (subscriber, paper): a
   paper that several of one subscriber's queries matched adds up their scores
   and gets a Match of its own naming them all; then the rows are sorted into
   digest order, and each subscriber gets a slice of one list.

Python objects are made only for the Matches and the lists handed out, by
``map``, numpy and slicing (in C), never in a Python loop per match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from digest.matching.analysis import Document
from digest.matching.day import Weights
from digest.matching.program import Ints, Masks, Program
from digest.matching.ranking import Match

Objects = npt.NDArray[np.object_]

# A Match made straight from its four fields, without NamedTuple's Python-level __new__.
_match: Any = partial(tuple.__new__, Match)


@dataclass(frozen=True, slots=True)
class Ranked:
    """Each distinct query's papers in digest order, with its score for each."""

    starts: Ints  # query q's papers are papers[starts[q]:starts[q + 1]]
    papers: Ints
    scores: Ints


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """Who wrote which query, as arrays: what collation reads of a Matcher."""

    subscribers: list[int]  # subscriber ids, by index
    texts: list[str]  # each distinct query text
    labels: list[tuple[str]]  # the same, as a Match names them
    text_query: Ints  # text -> distinct query id
    entry_subscriber: Ints  # each (subscriber, text) pair, in the subscriber's order
    entry_text: Ints


def rank_queries(program: Program, found: Masks, weights: Weights, place: Ints) -> Ranked:
    """Score the papers each query matched (``found``, bit masks) and order them: best
    score first, then ``place`` (the order of papers with equal scores)."""
    papers = weights.shape[1]
    hit = np.flatnonzero(found.any(axis=1))
    rows, paper = np.nonzero(np.unpackbits(found[hit], axis=1, count=papers, bitorder="little"))
    query = hit[rows]
    counts = program.scored_from[query + 1] - program.scored_from[query]
    terms = program.scored[_ranges(program.scored_from[query], counts)]
    scores = _sums(weights[terms, np.repeat(paper, counts)].astype(np.int64), counts)
    order = _best_first(query, scores, place[paper], papers)
    starts = np.searchsorted(query[order], np.arange(program.query_count + 1))
    return Ranked(starts, paper[order], scores[order])


def collate(
    who: Subscriptions, ranked: Ranked, documents: Sequence[Document], place: Ints
) -> dict[int, list[Match]]:
    """For each subscriber with a match, their matches, best first."""
    papers = len(documents)
    text_from = ranked.starts[who.text_query]
    text_count = ranked.starts[who.text_query + 1] - text_from
    text_start = np.cumsum(text_count) - text_count

    # Every (subscriber's query, paper) row, grouped by (subscriber, paper).
    count = text_count[who.entry_text]  # papers matched by each of a subscriber's queries
    entry = np.repeat(np.arange(len(count)), count)
    row = _ranges(text_from[who.entry_text], count)  # in ranked's arrays
    key = who.entry_subscriber[entry] * papers + ranked.papers[row]
    grouped = np.argsort(key, kind="stable")  # stable: a subscriber's queries stay in order
    key = key[grouped]
    firsts = np.flatnonzero(np.diff(key, prepend=-1))
    sizes = np.diff(firsts, append=len(key))
    totals = _sums(ranked.scores[row[grouped]], sizes)
    subscriber, paper = np.divmod(key[firsts], papers)
    first = grouped[firsts]
    text = who.entry_text[entry]
    match = text_start[text[first]] + row[first] - text_from[text[first]]  # the shared Match

    # One Match per (text, paper), in the text's digest order.
    make = _MatchMaker(documents, int(max(ranked.scores.max(initial=0), totals.max(initial=0))))
    rows = _ranges(text_from, text_count)
    texts = np.repeat(np.arange(len(who.labels)), text_count)
    shared = make(
        ranked.papers[rows], map(who.labels.__getitem__, texts.tolist()), ranked.scores[rows]
    )

    # A paper that several of a subscriber's queries matched: a Match naming them all.
    merged = np.flatnonzero(sizes > 1)
    members = text[grouped[_ranges(firsts[merged], sizes[merged])]]
    names = list(map(who.texts.__getitem__, members.tolist()))
    label_ends = np.cumsum(sizes[merged]).tolist()
    label_starts = (np.cumsum(sizes[merged]) - sizes[merged]).tolist()
    labels = map(tuple, map(names.__getitem__, map(slice, label_starts, label_ends)))
    pool = np.concatenate([shared, make(paper[merged], labels, totals[merged])])
    match[merged] = len(shared) + np.arange(len(merged))

    # Each subscriber's rows in digest order, handed out as slices of one list.
    ordered: list[Match] = pool[
        match[_best_first(subscriber, totals, place[paper], papers)]
    ].tolist()
    per_subscriber = np.bincount(subscriber, minlength=len(who.subscribers))
    matched = np.flatnonzero(per_subscriber)
    ends = np.cumsum(per_subscriber[matched])
    return dict(
        zip(
            map(who.subscribers.__getitem__, matched.tolist()),
            map(
                ordered.__getitem__,
                map(slice, (ends - per_subscriber[matched]).tolist(), ends.tolist()),
            ),
            strict=True,
        )
    )


class _MatchMaker:
    """Makes Matches in C, from arrays of papers and scores and an iterable of labels."""

    def __init__(self, documents: Sequence[Document], highest: int) -> None:
        self._ids = [document.id for document in documents]
        self._upvotes = [document.upvotes for document in documents]
        self._scores = [float(score) for score in range(highest + 1)]  # shared, not one each

    def __call__(self, papers: Ints, labels: Iterable[tuple[str, ...]], scores: Ints) -> Objects:
        paper_list = papers.tolist()
        fields = zip(
            map(self._ids.__getitem__, paper_list),
            labels,
            map(self._scores.__getitem__, scores.tolist()),
            map(self._upvotes.__getitem__, paper_list),
            strict=True,
        )
        return np.fromiter(map(_match, fields), dtype=object, count=len(paper_list))


def _best_first(group: Ints, scores: Ints, place: Ints, papers: int) -> Ints:
    """The order of rows by group, then best score, then place (unique within a group).
    The rows come grouped: a stable sort (timsort) makes use of it."""
    span = int(scores.max(initial=0)) + 1
    if (int(group.max(initial=0)) + 1) * span * papers < 2**62:  # one integer key: faster
        return np.argsort((group * span + (span - 1 - scores)) * papers + place, kind="stable")
    return np.lexsort((place, -scores, group))


def _sums(values: Ints, counts: Ints) -> Ints:
    """The sums of consecutive runs of ``counts[i]`` values (every count at least 1)."""
    if not len(counts):
        return values[:0]
    return np.add.reduceat(values, np.cumsum(counts) - counts)


def _ranges(starts: Ints, counts: Ints) -> Ints:
    """``starts[i] + arange(counts[i])`` for every i, concatenated."""
    total = int(counts.sum())
    firsts = np.cumsum(counts) - counts
    return np.repeat(starts - firsts, counts) + np.arange(total)
