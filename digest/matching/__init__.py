"""Keyword queries: parse, compile, match, score and highlight. Pure: no SQL, no email.

The query language is described in the README ("Queries"); the modules:

- ``text``: folding and words, shared by queries and papers;
- ``parser`` and ``query``: a query's text to a checked tree, or a QueryError;
- ``analysis``: a paper's fields as positioned words, where a term occurs;
- ``index``: the Matcher, which matches all subscribers' queries against a day, with
  ``program`` (the distinct queries as one table), ``day`` (a day's papers, and the
  papers each term is found in) and ``collate`` (each subscriber's ranked matches);
- ``ranking``: scores and the order of a digest; ``highlight``: marked words.
"""

from digest.matching.analysis import Document
from digest.matching.highlight import Segment, highlight
from digest.matching.index import Matcher, Rejected
from digest.matching.parser import compile_query
from digest.matching.query import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    CompiledQuery,
    Field,
    QueryError,
)
from digest.matching.ranking import Match, rank

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "CompiledQuery",
    "Document",
    "Field",
    "Match",
    "Matcher",
    "QueryError",
    "Rejected",
    "Segment",
    "compile_query",
    "highlight",
    "rank",
]
