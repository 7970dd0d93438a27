"""Malformed queries are refused with what is wrong and where (1-based characters)."""

from __future__ import annotations

import pytest

from digest.errors import InputError
from digest.matching import MAX_QUERY_LENGTH, MAX_TERMS, QueryError, compile_query
from digest.subscriptions import check_queries

REFUSED = [
    ("", "the query is empty"),
    ("   ", "the query is empty"),
    ("x" * (MAX_QUERY_LENGTH + 1), "the query is 501 characters long; the limit is 500"),
    (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "the query has 31 terms; the limit is 30"),
    ('"sparse attention', "the quote at character 1 is never closed"),
    ('diffusion "sparse', "the quote at character 11 is never closed"),
    ("(image OR video diffusion", "'(' at character 1 is never closed"),
    ("image OR video) diffusion", "')' at character 15 has no matching '('"),
    ("()", "the parentheses at character 1 are empty"),
    ('""', "the quotes at character 1 are empty"),
    ("-video", "the query only excludes; add a word to look for"),
    ('-video -"audio generation"', "the query only excludes"),
    ("diffusion OR -video", "the exclusion at character 14 is an OR alternative on its own"),
    ("OR diffusion", "'OR' at character 1 needs a term before it"),
    ("diffusion OR", "'OR' at character 11 needs a term after it"),
    ("diffusion OR OR flow", "'OR' at character 11 needs a term after it"),
    ("diffusion OR )", "'OR' at character 11 needs a term after it"),
    ("AND diffusion", "'AND' at character 1 needs a term before it"),
    ("diffusion AND", "'AND' at character 11 needs a term after it"),
    ("diffusion NOT", "'NOT' at character 11 needs a term after it"),
    ("diffusion - video", "'-' at character 11 needs a word right after it"),
    ("diffusion --video", "'-' at character 12 cannot exclude an exclusion"),
    ("diffusion -(video -audio)", "the exclusion at character 11 holds another exclusion"),
    ("venue:neurips", "unknown field 'venue:' at character 1"),
    ("diffusion arXiv:2401.1", "unknown field 'arXiv:' at character 11"),
    ("title: diffusion", "'title:' at character 1 needs a word, phrase or group right after it"),
    ("title:", "'title:' at character 1 needs a word"),
    ("diffusion !!!", "'!!!' at character 11 has no letters or digits to look for"),
    ("diff*usion", "'*' at character 5 can only end a word"),
    ("*", "'*' at character 1 has no letters or digits to look for"),
    ("d*", "'d*' at character 2: a prefix needs at least 2 letters before '*'"),
]


@pytest.mark.parametrize(("query", "message"), REFUSED)
def test_malformed_queries_are_refused_saying_what_and_where(query: str, message: str) -> None:
    with pytest.raises(QueryError) as refused:
        compile_query(query)
    assert message in str(refused.value)
    assert isinstance(refused.value, InputError)
    assert refused.value.exit_code == 2


ACCEPTED = [
    "x" * MAX_QUERY_LENGTH,
    " ".join(f"w{i}" for i in range(MAX_TERMS)),
    "https://github.com/MiniMax-AI/MSA",  # a URL is not a field
    '"arXiv:2401.1"',  # quoted, a colon is just punctuation
    "3:1 ratio",
    "diffusion -video -audio",
    "(a OR b) c -d",
    "a AND b OR c NOT d",
    "  padded  ",
]


@pytest.mark.parametrize("query", ACCEPTED)
def test_well_formed_queries_compile(query: str) -> None:
    assert compile_query(query).text == query.strip()


def test_check_queries_names_the_query_and_keeps_the_place() -> None:
    with pytest.raises(QueryError, match=r"query 2 \('a OR'\): 'OR' at character 3 needs a term"):
        check_queries(["diffusion", "a OR"])
