"""All subscribers' queries compiled once, and matched against a day's papers in one pass.

Matching does not try every query on every paper, nor look at one subscriber
at a time:

1. Compiling keeps one copy of each distinct query text, and of each distinct
   meaning (many subscribers share them), as rows of one table over the
   distinct terms (``program``).
2. A day's papers are read once into per-field maps from words, runs of two
   or three words and prefixes to the papers holding them, as bit masks; most
   terms' papers are a few of those, found for all terms at once (``day``).
3. Every distinct query is then evaluated for all papers at once, a few numpy
   reductions per level of the table; and the subscribers' ranked results are
   put together from the distinct queries' scored papers with array operations
   (``collate``).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from digest.matching.analysis import Document
from digest.matching.collate import Subscriptions, collate, rank_queries
from digest.matching.day import Day, Terms
from digest.matching.parser import compile_query
from digest.matching.program import ProgramBuilder
from digest.matching.query import QueryError
from digest.matching.ranking import Match

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A stored query that no longer compiles: it matches nothing, and is logged."""

    subscriber: int
    text: str
    error: str


class Matcher:
    """All subscribers' queries, compiled once, matched against a day's papers."""

    def __init__(self, queries_by_subscriber: Mapping[int, Iterable[str]]) -> None:
        self.rejected: list[Rejected] = []
        builder = ProgramBuilder()
        by_text: dict[str, int] = {}
        refused: dict[str, str] = {}
        labels: list[tuple[str]] = []
        text_query: list[int] = []
        subscribers: list[int] = []
        entry_subscriber: list[int] = []
        entry_text: list[int] = []
        with _collector_paused():
            for subscriber, texts in queries_by_subscriber.items():
                index = len(subscribers)
                for text in dict.fromkeys(texts):  # the same query twice counts once
                    text_id = by_text.get(text)
                    if text_id is None:
                        error = refused.get(text)
                        if error is None:
                            try:
                                query_id = builder.add(compile_query(text).root)
                            except QueryError as exc:
                                error = refused[text] = str(exc)
                        if error is not None:
                            log.warning(
                                "subscriber %s: query %r is skipped: %s", subscriber, text, error
                            )
                            self.rejected.append(Rejected(subscriber, text, error))
                            continue
                        text_id = by_text[text] = len(labels)
                        labels.append((text,))
                        text_query.append(query_id)
                    entry_subscriber.append(index)
                    entry_text.append(text_id)
                if len(entry_subscriber) and entry_subscriber[-1] == index:
                    subscribers.append(subscriber)
            self._program = builder.build()
        self._terms = Terms.of(self._program.terms)
        self._subscriptions = Subscriptions(
            subscribers,
            [text for (text,) in labels],
            labels,
            np.array(text_query, dtype=np.int64),
            np.array(entry_subscriber, dtype=np.int64),
            np.array(entry_text, dtype=np.int64),
        )

    @property
    def distinct_queries(self) -> int:
        return self._program.query_count

    def match(self, documents: Iterable[Document]) -> dict[int, list[Match]]:
        """For each subscriber with at least one match, their papers, best first."""
        with _collector_paused():
            return self._match(list(documents))

    def _match(self, documents: list[Document]) -> dict[int, list[Match]]:
        if not documents or not self._subscriptions.subscribers:
            return {}
        term_masks, weights = Day(documents, self._terms).term_masks()
        found = self._program.evaluate(term_masks, len(documents))
        # When scores tie: more upvotes first, then by id.
        order = sorted(
            range(len(documents)), key=lambda i: (-documents[i].upvotes, documents[i].id)
        )
        place = np.empty(len(documents), dtype=np.int64)
        place[order] = np.arange(len(documents))
        ranked = rank_queries(self._program, found, weights, place)
        return collate(self._subscriptions, ranked, documents, place)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Compiling and matching make many small objects and no reference cycles; left on, the
    cyclic garbage collector would walk them again and again. The objects still alive
    at the end are walked once, here, where the caller pays for it, rather than at
    some later allocation."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect(0)
