"""The naive reference matcher: every query, as compiled regular expressions, on every paper.

It shares the query parser and the folding rules with ``digest.matching`` (they
have table-driven tests of their own) and replaces everything else: no index,
no candidates, no bit masks, no word positions. Each term becomes one regular
expression over the folded text of a field, tried paper by paper, query by
query. ``tests/unit/test_matching_reference.py`` checks that both give the
same results, and ``benchmarks/bench_matching.py`` times both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from digest.matching import Document, Match, QueryError, compile_query, rank
from digest.matching.query import And, Field, Node, Not, Or, Term, Token
from digest.matching.ranking import ABSTRACT_WEIGHT, AUTHOR_WEIGHT, TITLE_WEIGHT
from digest.matching.text import fold, forms, plurals

_END = r"(?![^\W_])"  # no letter or digit just after a word
_NOT_A_LANGUAGE = r"(?!(?:\+\+|#)(?![^\W_]))"  # "c" must not be the start of "c++" or "c#"
_BETWEEN = r"[\W_]+"  # what separates two words of a phrase


def _starting(surface: str) -> str:
    """``surface`` with no letter or digit before it (nor "4." before "5" in "4.5"). The
    check comes after the literal (a fixed-width look-behind), so that the regex engine
    can scan for the literal fast."""
    escaped = re.escape(surface)
    pattern = f"{escaped}(?<![^\\W_]{escaped})"
    if surface[0].isdigit():
        pattern += f"(?<!\\d\\.{escaped})"
    return pattern


def _ending(surface: str) -> str:
    """Nor ".5" after "4" in "4.5"."""
    return r"(?!\.\d)" if surface[-1].isdigit() else ""


def token_pattern(token: Token) -> str:
    if token.prefix:
        return _starting(token.text) + r"[^\W_]*" + _END
    surfaces = sorted(
        {surface for form in forms(token.text) for surface in plurals(form)},
        key=lambda surface: (-len(surface), surface),
    )
    alternatives = [
        _starting(s) + _ending(s) + (_NOT_A_LANGUAGE if len(s) == 1 and s.isalpha() else "")
        for s in surfaces
    ]
    return "(?:" + "|".join(alternatives) + ")" + _END


def term_pattern(term: Term) -> str:
    slots = [
        "(?:"
        + "|".join(_BETWEEN.join(token_pattern(t) for t in alternative) for alternative in slot)
        + ")"
        for slot in term.slots
    ]
    return _BETWEEN.join(slots)


class _Fields:
    """A paper's fields, folded once."""

    def __init__(self, document: Document) -> None:
        self.title = fold(document.title).text
        self.abstract = fold(document.abstract).text
        self.authors = [fold(name).text for name in document.authors]


class NaiveMatcher:
    """Same interface and results as ``digest.matching.Matcher``, the slow obvious way."""

    def __init__(self, queries_by_subscriber: Mapping[int, Iterable[str]]) -> None:
        self._patterns: dict[Term, re.Pattern[str]] = {}
        self._queries: list[tuple[int, list[tuple[str, Node]]]] = []
        for subscriber, texts in queries_by_subscriber.items():
            compiled: list[tuple[str, Node]] = []
            for text in dict.fromkeys(texts):
                try:
                    root = compile_query(text).root
                except QueryError:
                    continue
                self._compile(root)
                compiled.append((text, root))
            self._queries.append((subscriber, compiled))

    def _compile(self, node: Node) -> None:
        if isinstance(node, Term):
            if node not in self._patterns:
                self._patterns[node] = re.compile(term_pattern(node))
        elif isinstance(node, Not):
            self._compile(node.child)
        else:
            for child in node.children:
                self._compile(child)

    def match(self, documents: Iterable[Document]) -> dict[int, list[Match]]:
        papers = [(document, _Fields(document)) for document in documents]
        results: dict[int, list[Match]] = {}
        for subscriber, queries in self._queries:
            found = []
            for document, fields in papers:
                matched = [(text, root) for text, root in queries if self._matches(root, fields)]
                if matched:
                    score = sum(self._score(root, fields) for _, root in matched)
                    texts = tuple(text for text, _ in matched)
                    found.append(Match(document.id, texts, score, document.upvotes))
            if found:
                results[subscriber] = rank(found)
        return results

    def _matches(self, node: Node, fields: _Fields) -> bool:
        if isinstance(node, Term):
            pattern, looks = self._patterns[node], node.field
            return (
                (looks in (Field.TEXT, Field.TITLE) and pattern.search(fields.title) is not None)
                or (
                    looks in (Field.TEXT, Field.ABSTRACT)
                    and pattern.search(fields.abstract) is not None
                )
                or (looks is Field.AUTHOR and any(pattern.search(name) for name in fields.authors))
            )
        if isinstance(node, Not):
            return not self._matches(node.child, fields)
        if isinstance(node, And):
            return all(self._matches(child, fields) for child in node.children)
        assert isinstance(node, Or)
        return any(self._matches(child, fields) for child in node.children)

    def _in(self, term: Term, fields: _Fields) -> tuple[bool, bool, bool]:
        """Whether the term occurs in the title, the abstract, the authors (where it looks)."""
        pattern = self._patterns[term]
        looks = term.field
        return (
            looks in (Field.TEXT, Field.TITLE) and pattern.search(fields.title) is not None,
            looks in (Field.TEXT, Field.ABSTRACT) and pattern.search(fields.abstract) is not None,
            looks is Field.AUTHOR and any(pattern.search(name) for name in fields.authors),
        )

    def _score(self, root: Node, fields: _Fields) -> float:
        score = 0.0
        for term in dict.fromkeys(_looked_for(root)):
            title, abstract, authors = self._in(term, fields)
            score += TITLE_WEIGHT * title + ABSTRACT_WEIGHT * abstract + AUTHOR_WEIGHT * authors
        return score


def _looked_for(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [term for child in node.children for term in _looked_for(child)]
