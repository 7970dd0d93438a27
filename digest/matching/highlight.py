"""Mark the words of a paper that its matching queries looked for."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from digest.matching.analysis import analyse, term_spans
from digest.matching.parser import compile_query
from digest.matching.query import Field, QueryError, Term

Segment = tuple[str, bool]  # a piece of text, and whether a query matched it

_SHOWN_IN = {
    None: (Field.TEXT, Field.TITLE, Field.ABSTRACT),
    Field.TITLE: (Field.TEXT, Field.TITLE),
    Field.ABSTRACT: (Field.TEXT, Field.ABSTRACT),
    Field.AUTHOR: (Field.AUTHOR,),
}


def highlight(text: str, queries: Iterable[str], field: Field | None = None) -> list[Segment]:
    """Split ``text`` into pieces, marking where the queries' words and phrases occur.

    The pieces joined give ``text`` back unchanged; templates wrap the marked
    ones (``<mark>`` in HTML) and the plain text ignores the marks. Matching
    follows the query language (phrases, prefixes, hyphens, accents, plurals);
    excluded terms are never marked. ``field`` says which part of the paper
    ``text`` is, so that a ``title:`` term is not marked in the abstract;
    without it, terms of every field but ``author:`` are marked.
    """
    terms = [t for query in queries for t in _looked_for(query) if t.field in _SHOWN_IN[field]]
    if not terms or not text:
        return [(text, False)] if text else []
    words = analyse((text,), spans=True)
    ranges = sorted(
        (words.spans[first][0], words.spans[after - 1][1])
        for term in dict.fromkeys(terms)
        for first, after in term_spans(words, term.slots)
    )
    segments: list[Segment] = []
    position = 0
    for start, end in ranges:
        if end <= position:
            continue
        start = max(start, position)
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


@lru_cache(maxsize=4096)
def _looked_for(query: str) -> tuple[Term, ...]:
    try:
        return compile_query(query).positive_terms()
    except QueryError:  # a query stored before the rules changed: mark nothing for it
        return ()
