"""The fast paths of the matcher agree with the slow, obvious ones.

The matcher takes shortcuts for speed: plain queries skip the parser, plain
words skip folding, equal queries are evaluated once, most terms are looked up
as keys of up to three words, the rest word position by word position, and
the subscribers' results are put together with array operations. Each
shortcut is checked here against the path it replaces (the parser, the naive
reference matcher) on the cases where they could part.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.matching import Document, Match, Matcher, QueryError, compile_query
from digest.matching.parser import Kind, Lexeme, _folded_term, _Parser, _plain, _term, lex
from digest.matching.query import Field, Term, walk_terms
from tests.support.matching_workload import day_of_papers, recorded_documents
from tests.support.naive_matching import NaiveMatcher

plain_word = st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)
space = st.sampled_from([" ", "  ", "\t", "\n", " \x0b "])


def _terms_as_written(node: object) -> list[tuple[Term, str, int]]:
    return [(term, term.source, term.position) for term, _ in walk_terms(node)]  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(words=st.lists(plain_word, min_size=1, max_size=30), gaps=st.lists(space, max_size=31))
def test_a_plain_query_gets_the_parsers_tree(words: list[str], gaps: list[str]) -> None:
    text = "".join(gap + word for gap, word in zip(itertools.cycle(gaps or [" "]), words))
    fast = _plain(text)
    if any(word in ("OR", "AND", "NOT") for word in words):
        assert fast is None  # operators go to the parser
        return
    parsed = _Parser(text, lex(text)).parse()
    assert fast == parsed
    # Equal trees, and the same sources and places for messages and highlighting.
    assert _terms_as_written(fast) == _terms_as_written(parsed)


@pytest.mark.parametrize(
    "text",
    ["naïve bayes", "GPT-4", '"sparse attention"', "diffus*", "title:agents", "a OR b", "C++"],
)
def test_anything_but_plain_words_goes_to_the_parser(text: str) -> None:
    assert _plain(text) is None
    assert compile_query(text).root == _Parser(text, lex(text)).parse()


def test_too_many_plain_words_are_refused_by_the_parser() -> None:
    with pytest.raises(QueryError, match="31 terms; the limit is 30"):
        compile_query(" ".join(f"w{i}" for i in range(31)))


@settings(max_examples=300, deadline=None)
@given(words=st.lists(plain_word, min_size=1, max_size=4), field=st.sampled_from(list(Field)))
def test_a_plain_term_is_the_folded_term(words: list[str], field: Field) -> None:
    raw = " ".join(words)
    lexeme = Lexeme(Kind.PHRASE, raw, 3)
    fast, slow = _term(field, lexeme, raw, 4), _folded_term(field, lexeme, raw, 4)
    assert fast == slow
    assert (fast.source, fast.position) == (slow.source, slow.position)


def test_queries_that_mean_the_same_are_evaluated_once_and_named_as_written() -> None:
    paper = Document("p", "Sparse attention for long context", "", upvotes=1)
    queries = {1: ["sparse attention"], 2: ["attention sparse"], 3: ["(sparse attention) long"]}
    queries[4] = ["sparse attention long", "Sparse Attention"]
    matcher = Matcher(queries)

    assert matcher.distinct_queries == 2  # "a b" is "b a"; "(a b) c" is "a b c"
    assert matcher.match([paper]) == {
        1: [Match("p", ("sparse attention",), 6.0, 1)],
        2: [Match("p", ("attention sparse",), 6.0, 1)],
        3: [Match("p", ("(sparse attention) long",), 9.0, 1)],
        4: [Match("p", ("sparse attention long", "Sparse Attention"), 15.0, 1)],
    }


def _phrases(documents: list[Document], length: int, rng: random.Random) -> list[str]:
    """Runs of ``length`` words from the papers, some with a plural or a hyphen added."""
    found = []
    for document in documents:
        words = document.abstract.replace(",", " ").replace(".", " ").split()
        if len(words) > length:
            start = rng.randrange(len(words) - length)
            run = words[start : start + length]
            if rng.random() < 0.3:
                run[-1] += "s"
            joiner = "-" if rng.random() < 0.2 else " "
            found.append('"' + joiner.join(run) + '"')
    return found


def test_phrases_of_any_length_agree_with_the_reference() -> None:
    """Two and three words are looked up as keys; four and more, word by word."""
    day = recorded_documents()
    rng = random.Random(7)
    queries = [phrase for length in (2, 3, 4, 5, 7) for phrase in _phrases(day, length, rng)]
    queries += ['"large language model*"', '"diffus* models"', '"vision-language-action"']
    queries += ['title:"language model"', 'abstract:"reinforcement learning with"']
    subscribers = {n: [query] for n, query in enumerate(queries)}

    fast = Matcher(subscribers).match(day)

    assert fast == NaiveMatcher(subscribers).match(day)
    assert len(fast) > len(queries) // 2  # the phrases were found, not just missed alike


NESTED = [
    "agents -(video OR audio)",
    "model -(language model)",
    "(diffusion OR flow) (video OR image) -text",
    "(reinforcement (learning OR agents)) OR (robot manipulation)",
    "((language OR vision) model*) -benchmark",
    "model -language -vision -video -(reasoning OR agent*)",
    "title:(agents OR robots) abstract:(learning -supervised)",
    "language language model",
]


@pytest.mark.parametrize("papers", [1, 7, 8, 9, 48, 100, 130], ids=lambda n: f"{n}-papers")
def test_nested_groups_and_exclusions_agree_with_the_reference(papers: int) -> None:
    """Exclusions set the bits past the last paper: they must never turn into matches."""
    day = day_of_papers(papers, seed=papers)
    subscribers = {n: [query] for n, query in enumerate(NESTED)}
    subscribers[len(NESTED)] = NESTED  # several queries matching one paper add up

    assert Matcher(subscribers).match(day) == NaiveMatcher(subscribers).match(day)


def test_an_empty_day_no_subscribers_and_only_refused_queries_match_nothing() -> None:
    day = recorded_documents()
    assert Matcher({1: ["agents"]}).match([]) == {}
    assert Matcher({}).match(day) == {}
    refused = Matcher({1: ['"broken'], 2: ["(also broken"]})
    assert refused.match(day) == {}
    assert len(refused.rejected) == 2
