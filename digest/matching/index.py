"""All subscribers' queries compiled once, and matched against a day's papers in one pass.

Matching does not try every query on every paper:

1. Compiling keeps one copy of each distinct query (many subscribers share
   them) and files it in an index under *anchors*: words one of which every
   paper it matches must contain (one word per OR alternative, the rarest-looking
   word of an AND).
2. A day's papers are read once into per-field maps from each word form to
   the set of papers holding it, as a bit mask (bit i = paper i).
3. Only queries with an anchor among the day's words are candidates; each is
   evaluated once for all papers together, with AND, OR and NOT as bitwise
   operations on the masks of its terms (phrases are checked word by word
   only in the papers holding all their words).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from digest.matching.analysis import Document
from digest.matching.collate import Collator
from digest.matching.day import Day, TermMasks, bits
from digest.matching.parser import compile_query
from digest.matching.query import (
    And,
    Node,
    Not,
    Or,
    QueryError,
    Term,
    Token,
    looks_for_something,
)
from digest.matching.ranking import Match
from digest.matching.text import forms

log = logging.getLogger(__name__)


# Evaluation plans: a term id, or small tuples; cheaper to walk than the query tree.
class _Flat(NamedTuple):  # the common case: terms that must occur, terms that must not
    include: tuple[int, ...]
    exclude: tuple[int, ...]


class _All(NamedTuple):
    children: tuple[Plan, ...]


class _Any(NamedTuple):
    children: tuple[Plan, ...]


class _Except(NamedTuple):
    child: Plan


Plan = int | _Flat | _All | _Any | _Except


@dataclass(frozen=True, slots=True)
class _Query:
    plan: Plan
    scored: tuple[int, ...]  # ids of the terms that count towards the score


@dataclass(frozen=True, slots=True)
class Rejected:
    """A stored query that no longer compiles: it matches nothing, and is logged."""

    subscriber: int
    text: str
    error: str


class Matcher:
    """All subscribers' queries, compiled once, matched against a day's papers."""

    def __init__(self, queries_by_subscriber: Mapping[int, Iterable[str]]) -> None:
        self._terms: dict[Term, int] = {}
        self._queries: list[_Query] = []
        self._anchors: dict[str, list[int]] = {}  # word form -> queries
        self._prefix_anchors: dict[str, list[int]] = {}  # prefix -> queries
        self._prefixes: set[str] = set()  # every prefix any term uses
        self.rejected: list[Rejected] = []
        by_text: dict[str, int] = {}
        by_meaning: dict[Node, int] = {}
        subscribers: list[tuple[int, tuple[tuple[str, int], ...]]] = []
        with _collector_paused():
            for subscriber, texts in queries_by_subscriber.items():
                entries = self._compile(subscriber, texts, by_text, by_meaning)
                if entries:
                    subscribers.append((subscriber, entries))
        self._subscribers = subscribers
        self._term_list = list(self._terms)

    def _compile(
        self,
        subscriber: int,
        texts: Iterable[str],
        by_text: dict[str, int],
        by_meaning: dict[Node, int],
    ) -> tuple[tuple[str, int], ...]:
        """A subscriber's queries as (text, query id); a query seen before is not compiled again."""
        entries: list[tuple[str, int]] = []
        for text in dict.fromkeys(texts):  # the same query twice counts once
            query_id = by_text.get(text)
            if query_id is None:
                try:
                    root = compile_query(text).root
                except QueryError as exc:
                    log.warning("subscriber %s: query %r is skipped: %s", subscriber, text, exc)
                    self.rejected.append(Rejected(subscriber, text, str(exc)))
                    continue
                query_id = by_meaning.get(root)
                if query_id is None:
                    query_id = by_meaning[root] = self._add(root)
                by_text[text] = query_id
            entries.append((text, query_id))
        return tuple(entries)

    @property
    def distinct_queries(self) -> int:
        return len(self._queries)

    def _add(self, root: Node) -> int:
        query_id = len(self._queries)
        scored = tuple(dict.fromkeys(self._term_id(t) for t in _looked_for(root)))
        self._queries.append(_Query(self._plan(root), scored))
        for token in _anchors(root):
            if token.prefix:
                self._prefix_anchors.setdefault(token.text, []).append(query_id)
            else:
                for form in forms(token.text):
                    self._anchors.setdefault(form, []).append(query_id)
        return query_id

    def _term_id(self, term: Term) -> int:
        term_id = self._terms.get(term)
        if term_id is None:
            term_id = self._terms[term] = len(self._terms)
            self._prefixes.update(
                token.text
                for slot in term.slots
                for alternative in slot
                for token in alternative
                if token.prefix
            )
        return term_id

    def _plan(self, node: Node) -> Plan:
        if isinstance(node, Term):
            return self._term_id(node)
        if isinstance(node, Not):
            return _Except(self._plan(node.child))
        if isinstance(node, And) and all(_is_flat(child) for child in node.children):
            return _Flat(
                tuple(self._term_id(c) for c in node.children if isinstance(c, Term)),
                tuple(
                    self._term_id(c.child)
                    for c in node.children
                    if isinstance(c, Not) and isinstance(c.child, Term)
                ),
            )
        children = tuple(self._plan(child) for child in node.children)
        return _All(children) if isinstance(node, And) else _Any(children)

    def match(self, documents: Iterable[Document]) -> dict[int, list[Match]]:
        """For each subscriber with at least one match, their papers, best first."""
        with _collector_paused():
            return self._match(list(documents))

    def _match(self, documents: list[Document]) -> dict[int, list[Match]]:
        day = Day(documents, self._prefixes)
        if not day.documents:
            return {}
        candidates = day.candidates(self._anchors, self._prefix_anchors)
        masks = TermMasks(day, self._term_list)
        matched: dict[int, int] = {}
        everything = (1 << len(day.documents)) - 1
        for query_id in candidates:
            mask = _evaluate(self._queries[query_id].plan, masks, everything)
            if mask:
                matched[query_id] = mask
        collate = Collator(documents, lambda query_id: self._scores(query_id, matched, masks))
        return collate(self._subscribers, matched)

    def _scores(self, query_id: int, matched: dict[int, int], masks: TermMasks) -> dict[int, int]:
        """The query's score for each paper it matched (see ``ranking``)."""
        scored = self._queries[query_id].scored
        mask = matched[query_id]
        if len(scored) == 1 and masks[scored[0]] == mask:
            return masks.weights(scored[0])
        scores = dict.fromkeys(bits(mask), 0)
        for term_id in scored:
            weights = masks.weights(term_id)
            for paper in scores:
                scores[paper] += weights.get(paper, 0)
        return scores


def _evaluate(plan: Plan, masks: TermMasks, everything: int) -> int:
    """The papers (a bit mask) that ``plan`` matches."""
    if type(plan) is int:
        return masks[plan]
    if type(plan) is _Flat:
        mask = everything
        for term_id in plan.include:
            mask &= masks[term_id]
            if not mask:
                return 0
        for term_id in plan.exclude:
            mask &= ~masks[term_id]
        return mask
    if type(plan) is _Except:
        return everything & ~_evaluate(plan.child, masks, everything)
    if type(plan) is _All:
        mask = everything
        for child in plan.children:
            mask &= _evaluate(child, masks, everything)
            if not mask:
                return 0
        return mask
    assert type(plan) is _Any
    mask = 0
    for child in plan.children:
        mask |= _evaluate(child, masks, everything)
    return mask


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Matching makes millions of small objects and no reference cycles; left on, the
    cyclic garbage collector would walk every compiled query again and again (3x slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _is_flat(node: Node) -> bool:
    return isinstance(node, Term) or (isinstance(node, Not) and isinstance(node.child, Term))


def _looked_for(node: Node) -> Iterator[Term]:
    """The terms under ``node`` that are not excluded."""
    if isinstance(node, Term):
        yield node
    elif not isinstance(node, Not):
        for child in node.children:
            yield from _looked_for(child)


def _anchors(node: Node) -> set[Token]:
    """Words one of which every paper matching ``node`` contains (``node`` looks for something)."""
    if isinstance(node, Term):
        slot = max(node.slots, key=lambda s: min(_rarity(_best(a)) for a in s))
        return {_best(alternative) for alternative in slot}
    if isinstance(node, Or):
        return set().union(*(_anchors(child) for child in node.children))
    assert isinstance(node, And)
    options = [_anchors(child) for child in node.children if looks_for_something(child)]
    return min(options, key=lambda tokens: (len(tokens), -min(map(_rarity, tokens))))


def _best(alternative: tuple[Token, ...]) -> Token:
    return max(alternative, key=_rarity)


def _rarity(token: Token) -> int:
    """A guess at how rare a word is: longer words are rarer; a prefix matches more words."""
    return len(token.text) - (3 if token.prefix else 0)
