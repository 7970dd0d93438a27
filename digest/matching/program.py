"""Every distinct query as rows of one table, evaluated for all queries of a day at once.

A query's tree becomes rows: each term is a leaf row; each AND and OR a row
over earlier rows, each child maybe negated (a NOT is a flag on the edge, not
a row). Equal subtrees are one row, so a query typed by many subscribers, or
written ``a b`` by one and ``b a`` by another, is evaluated once. Rows are
numbered by height, so that one numpy reduction per height and kind (AND,
OR) works out which papers every row matches, as bit masks: bit ``i % 8``
of byte ``i // 8`` stands for the day's ``i``-th paper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from digest.matching.query import And, Field, Node, Not, Slot, Term

Masks = npt.NDArray[np.uint8]  # one row of bit masks per term, node or query
Ints = npt.NDArray[np.int64]

_AND, _OR = 0, 1
Edge = tuple[int, bool]  # a child (term id, or ~node id) and whether it is negated


@dataclass(frozen=True, slots=True)
class _Level:
    """The rows of one height and kind, and their children, ready for one reduction."""

    first: int  # the first row
    last: int  # after the last row
    kind: int
    children: Ints  # rows of the children, row by row
    negated: Masks  # 0xFF for a negated child, 0 otherwise
    starts: Ints  # where each row's children start in ``children``


class ProgramBuilder:
    """Collects queries (deduplicated by meaning) and turns them into a Program."""

    def __init__(self) -> None:
        self.terms: dict[Term, int] = {}
        # Terms by (field, slots): the same as by Term, but hashed and compared in C.
        self._term_ids: dict[tuple[Field, tuple[Slot, ...]], int] = {}
        self._nodes: dict[tuple[int, tuple[Edge, ...]], int] = {}
        self._keys: list[tuple[int, tuple[Edge, ...]]] = []  # node id -> (kind, children)
        self._heights: list[int] = []
        self._queries: dict[int, int] = {}  # root -> query id
        self._roots: list[int] = []
        self._scored: list[tuple[int, ...]] = []

    def add(self, root: Node) -> int:
        """The id of the query ``root`` means; the same id for a query that means the same."""
        ref, negated = self._edge(root)
        if negated:  # the parser refuses such a query; this keeps the table right anyway
            ref = self._node(_AND, ((ref, True),))
        query_id = self._queries.get(ref)
        if query_id is None:
            query_id = self._queries[ref] = len(self._roots)
            self._roots.append(ref)
            self._scored.append(tuple(dict.fromkeys(self._term(t) for t in _looked_for(root))))
        return query_id

    def _term(self, term: Term) -> int:
        key = (term.field, term.slots)
        term_id = self._term_ids.get(key)
        if term_id is None:
            term_id = self._term_ids[key] = self.terms[term] = len(self.terms)
        return term_id

    def _edge(self, node: Node) -> Edge:
        if isinstance(node, Term):
            return self._term(node), False
        if isinstance(node, Not):
            ref, negated = self._edge(node.child)
            return ref, not negated
        kind = _AND if isinstance(node, And) else _OR
        edges: dict[Edge, None] = {}
        for child in node.children:
            edge = self._edge(child)
            if not edge[1] and edge[0] < 0 and self._kind(edge[0]) == kind:
                edges.update(dict.fromkeys(self._children(edge[0])))  # (a b) c is a b c
            else:
                edges[edge] = None
        if len(edges) == 1 and not next(iter(edges))[1]:
            return next(iter(edges))  # "a a" is "a"
        return self._node(kind, tuple(sorted(edges))), False

    def _node(self, kind: int, edges: tuple[Edge, ...]) -> int:
        key = (kind, edges)
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = ~len(self._keys)
            self._keys.append(key)
            self._heights.append(1 + max(self._height(ref) for ref, _ in edges))
        return node

    def _height(self, ref: int) -> int:
        return 0 if ref >= 0 else self._heights[~ref]

    def _kind(self, ref: int) -> int:
        return self._keys[~ref][0]

    def _children(self, ref: int) -> tuple[Edge, ...]:
        return self._keys[~ref][1]

    def build(self) -> Program:
        """The table: terms first, then nodes by height and kind."""
        keys = self._keys
        term_count = len(self.terms)
        order = sorted(range(len(keys)), key=lambda n: (self._heights[n], keys[n][0]))
        row = [0] * len(keys)
        for place, node in enumerate(order):
            row[node] = term_count + place
        levels: list[_Level] = []
        start = 0
        while start < len(order):
            height, kind = self._heights[order[start]], keys[order[start]][0]
            end = start
            children: list[int] = []
            negated: list[int] = []
            starts: list[int] = []
            while (
                end < len(order)
                and self._heights[order[end]] == height
                and keys[order[end]][0] == kind
            ):
                starts.append(len(children))
                for ref, negative in keys[order[end]][1]:
                    children.append(ref if ref >= 0 else row[~ref])
                    negated.append(0xFF if negative else 0)
                end += 1
            levels.append(
                _Level(
                    term_count + start,
                    term_count + end,
                    kind,
                    np.array(children, dtype=np.int64),
                    np.array(negated, dtype=np.uint8),
                    np.array(starts, dtype=np.int64),
                )
            )
            start = end
        roots = np.array([r if r >= 0 else row[~r] for r in self._roots], dtype=np.int64)
        lengths = np.array([len(s) for s in self._scored], dtype=np.int64)
        scored_from = np.zeros(len(self._scored) + 1, dtype=np.int64)
        np.cumsum(lengths, out=scored_from[1:])
        scored = np.fromiter(
            (t for s in self._scored for t in s), dtype=np.int64, count=int(lengths.sum())
        )
        return Program(list(self.terms), len(keys), tuple(levels), roots, scored_from, scored)


@dataclass(frozen=True, slots=True)
class Program:
    """Distinct queries over distinct terms: evaluate them all for a day's term masks."""

    terms: list[Term]
    node_count: int
    levels: tuple[_Level, ...]
    roots: Ints  # each query's row
    scored_from: Ints  # query q's scored terms are scored[scored_from[q]:scored_from[q + 1]]
    scored: Ints  # ids of the terms that count towards a query's score (never excluded ones)

    @property
    def query_count(self) -> int:
        return len(self.roots)

    def evaluate(self, term_masks: Masks, papers: int) -> Masks:
        """The papers each query matches, from the papers each term matches (both bit masks)."""
        rows = np.empty((len(self.terms) + self.node_count, term_masks.shape[1]), dtype=np.uint8)
        rows[: len(self.terms)] = term_masks
        for level in self.levels:
            values = rows[level.children]
            values ^= level.negated[:, None]
            reduce = np.bitwise_and if level.kind == _AND else np.bitwise_or
            rows[level.first : level.last] = reduce.reduceat(values, level.starts, axis=0)
        found = rows[self.roots]
        if papers % 8:  # a negation sets the bits after the last paper: clear them
            found[:, -1] &= (1 << papers % 8) - 1
        return found


def _looked_for(node: Node) -> Iterator[Term]:
    """The terms under ``node`` that are not excluded: those a query's score counts."""
    if isinstance(node, Term):
        yield node
    elif not isinstance(node, Not):
        for child in node.children:
            yield from _looked_for(child)
