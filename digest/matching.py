"""Keyword queries: parse, compile, match and score. Pure: no SQL, no email.

First cut of the query language: every word must occur in the title or the
abstract (AND), case-insensitive, as a whole word, singular and plural alike;
a "quoted phrase" must occur as a phrase.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from digest.errors import InputError

MAX_QUERY_LENGTH = 500
MAX_TERMS = 30
TITLE_WEIGHT = 3.0
ABSTRACT_WEIGHT = 1.0

_TOKEN = re.compile(r"[^\W_]+")
_QUERY_PART = re.compile(r'"([^"]*)"|(\S+)')


class QueryError(InputError):
    """A query that cannot be understood; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one paper that queries look at."""

    id: str
    title: str
    abstract: str
    upvotes: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    """A paper that matched some of one subscriber's queries."""

    paper_id: str
    queries: tuple[str, ...]
    score: float
    upvotes: int = 0


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    text: str
    phrases: tuple[tuple[str, ...], ...]  # every phrase must occur; a word is a one-token phrase


def normalise_token(token: str) -> str:
    """Lower-case and fold plurals, so 'Transformers' and 'transformer' are one term."""
    token = token.lower()
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text)
    return [normalise_token(token) for token in _TOKEN.findall(folded)]


def compile_query(text: str) -> CompiledQuery:
    """Check and compile one query; raises QueryError naming the problem."""
    stripped = text.strip()
    if not stripped:
        raise QueryError("the query is empty")
    if len(stripped) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    if stripped.count('"') % 2:
        raise QueryError(f"unbalanced quote at character {stripped.rindex(chr(34)) + 1}")
    phrases: list[tuple[str, ...]] = []
    for quoted, word in _QUERY_PART.findall(stripped):
        tokens = tuple(tokenize(quoted if quoted else word))
        if tokens:
            phrases.append(tokens)
    if not phrases:
        raise QueryError("the query has no words to look for")
    if len(phrases) > MAX_TERMS:
        raise QueryError(f"the query has more than {MAX_TERMS} terms")
    return CompiledQuery(text=stripped, phrases=tuple(phrases))


def _count_phrase(tokens: Sequence[str], phrase: tuple[str, ...]) -> int:
    size = len(phrase)
    return sum(1 for i in range(len(tokens) - size + 1) if tuple(tokens[i : i + size]) == phrase)


@dataclass(frozen=True, slots=True)
class _Tokenized:
    document: Document
    title: list[str]
    abstract: list[str]


def _score(query: CompiledQuery, doc: _Tokenized) -> float:
    """0 when some phrase is missing from both title and abstract, else the weighted hits."""
    score = 0.0
    for phrase in query.phrases:
        in_title = _count_phrase(doc.title, phrase)
        in_abstract = _count_phrase(doc.abstract, phrase)
        if not in_title and not in_abstract:
            return 0.0
        score += TITLE_WEIGHT * in_title + ABSTRACT_WEIGHT * in_abstract
    return score


class Matcher:
    """All subscribers' queries, compiled once, matched against a day's papers."""

    def __init__(self, queries_by_subscriber: Mapping[int, Iterable[str]]) -> None:
        self._queries = {
            subscriber: [compile_query(text) for text in texts]
            for subscriber, texts in queries_by_subscriber.items()
        }

    def match(self, documents: Iterable[Document]) -> dict[int, list[Match]]:
        """For each subscriber with at least one match, their papers, best first."""
        tokenized = [
            _Tokenized(doc, tokenize(doc.title), tokenize(doc.abstract)) for doc in documents
        ]
        results: dict[int, list[Match]] = {}
        for subscriber, queries in self._queries.items():
            matches = []
            for doc in tokenized:
                scores = [(query.text, _score(query, doc)) for query in queries]
                hits = [(text, score) for text, score in scores if score > 0]
                if hits:
                    total = sum(score for _, score in hits) * len(hits)
                    matches.append(
                        Match(
                            doc.document.id,
                            tuple(text for text, _ in hits),
                            total,
                            doc.document.upvotes,
                        )
                    )
            if matches:
                results[subscriber] = rank(matches)
        return results


Segment = tuple[str, bool]  # a piece of text, and whether a query matched it


def highlight(text: str, queries: Iterable[str]) -> list[Segment]:
    """Split ``text`` into pieces, marking the words the queries look for.

    The pieces joined give ``text`` back unchanged; templates wrap the marked
    ones (``<mark>`` in HTML) and the plain text ignores the marks.
    """
    terms = {token for query in queries for phrase in _compiled_or_none(query) for token in phrase}
    segments: list[Segment] = []
    position = 0
    for found in _TOKEN.finditer(text):
        if normalise_token(unicodedata.normalize("NFKC", found.group())) not in terms:
            continue
        if found.start() > position:
            segments.append((text[position : found.start()], False))
        segments.append((found.group(), True))
        position = found.end()
    if position < len(text):
        segments.append((text[position:], False))
    return segments


def _compiled_or_none(query: str) -> tuple[tuple[str, ...], ...]:
    try:
        return compile_query(query).phrases
    except QueryError:  # a query stored before the rules changed: highlight nothing
        return ()


def rank(matches: Iterable[Match]) -> list[Match]:
    """Best score first; ties go to more upvotes, then to the paper id for a stable order."""
    return sorted(matches, key=lambda m: (-m.score, -m.upvotes, m.paper_id))
