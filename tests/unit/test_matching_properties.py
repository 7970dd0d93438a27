"""Properties that must hold for any query and any paper (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from digest.matching import Document, Matcher, QueryError, compile_query, highlight
from tests.support.matching_workload import TRICKY_SEPARATORS, TRICKY_WORDS
from tests.support.naive_matching import NaiveMatcher

PROFILE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)

word = st.sampled_from(TRICKY_WORDS)
text = st.lists(st.tuples(word, st.sampled_from(TRICKY_SEPARATORS)), max_size=12).map(
    lambda pairs: "".join(w + s for w, s in pairs).strip()
)
any_text = st.text(max_size=60)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    return Document(
        id=draw(st.sampled_from(["2606.00001", "2606.00002", "2606.00003", "2606.00004"])),
        title=draw(st.one_of(text, any_text)),
        abstract=draw(text),
        upvotes=draw(st.integers(0, 3)),
        authors=tuple(
            draw(st.lists(st.sampled_from(["Tri Dao", "Albert Gu", "Jürgen"]), max_size=2))
        ),
    )


def _term(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return '"' + " ".join(draw(st.lists(word, min_size=1, max_size=3))) + '"'
    if choice == 1:
        stem = draw(word)
        return stem + "*" if stem.isalpha() and len(stem) >= 3 else stem
    if choice == 2:
        return draw(st.sampled_from(["title:", "abstract:", "author:"])) + draw(word)
    return draw(word)


@st.composite
def queries(draw: st.DrawFn, depth: int = 2) -> str:
    """A query that compiles, built from the grammar's elements."""
    kind = draw(st.integers(0, 4 if depth else 0))
    if kind == 0:
        return _term(draw)
    left, right = draw(queries(depth - 1)), draw(queries(depth - 1))
    if kind == 1:
        return f"{left} {right}"
    if kind == 2:
        return f"{left} OR {right}"
    if kind == 3:
        return f"({left} OR {right}) {_term(draw)}"
    return f"{left} -{_term(draw)}"


def matching(query: str, papers: list[Document]) -> set[str]:
    return {m.paper_id for m in Matcher({1: [query]}).match(papers).get(1, [])}


def distinct(papers: list[Document]) -> list[Document]:
    return list({paper.id: paper for paper in papers}.values())


@PROFILE
@given(st.lists(word, min_size=1, max_size=4), any_text, any_text)
def test_a_title_holding_the_phrase_verbatim_always_matches(
    phrase_words: list[str], before: str, after: str
) -> None:
    phrase = " ".join(phrase_words)
    title = f"{before} {phrase} {after}"
    assert matching(f'"{phrase}"', [Document("p", title, "")]) == {"p"}
    assert matching(phrase, [Document("p", title, "")]) == {"p"}


@PROFILE
@given(st.text(min_size=1, max_size=20).filter(lambda s: not re.search(r"[\"“”„″*]", s)), any_text)
def test_any_phrase_that_compiles_matches_itself_in_a_title(phrase: str, after: str) -> None:
    try:
        compile_query(f'"{phrase}"')
    except QueryError:
        assume(False)
    assert matching(f'"{phrase}"', [Document("p", f"{phrase} {after}", "")]) == {"p"}


@PROFILE
@given(queries(), st.sampled_from(TRICKY_WORDS), st.lists(documents(), min_size=1, max_size=4))
def test_adding_an_exclusion_never_adds_matches(
    query: str, excluded: str, papers: list[Document]
) -> None:
    papers = distinct(papers)
    narrowed = f"({query}) -{excluded}"
    assert matching(narrowed, papers) <= matching(query, papers)


@PROFILE
@given(queries(), queries(), st.lists(documents(), min_size=1, max_size=4))
def test_or_never_removes_matches(left: str, right: str, papers: list[Document]) -> None:
    papers = distinct(papers)
    either = matching(f"({left}) OR ({right})", papers)
    assert either == matching(left, papers) | matching(right, papers)


@PROFILE
@given(queries(), queries(), st.lists(documents(), min_size=1, max_size=4))
def test_and_is_the_intersection(left: str, right: str, papers: list[Document]) -> None:
    papers = distinct(papers)
    both = matching(f"({left}) ({right})", papers)
    assert both == matching(left, papers) & matching(right, papers)


@PROFILE
@given(st.lists(queries(), min_size=1, max_size=3), st.lists(documents(), min_size=1, max_size=4))
def test_the_matcher_agrees_with_the_naive_reference(
    texts: list[str], papers: list[Document]
) -> None:
    papers = distinct(papers)
    subscribers = {1: texts, 2: texts[:1], 3: list(reversed(texts))}
    assert Matcher(subscribers).match(papers) == NaiveMatcher(subscribers).match(papers)


@PROFILE
@given(st.one_of(text, any_text), st.lists(st.one_of(queries(), any_text), max_size=3))
def test_highlight_pieces_join_back_to_the_text(title: str, texts: list[str]) -> None:
    segments = highlight(title, texts)
    assert "".join(piece for piece, _ in segments) == title
    assert all(piece for piece, _ in segments)


@PROFILE
@given(st.one_of(text, any_text), st.sampled_from(TRICKY_WORDS))
def test_every_marked_piece_is_something_the_query_matches(title: str, query: str) -> None:
    for piece, hit in highlight(title, [query]):
        if hit:
            assert matching(query, [Document("p", piece, "")]) == {"p"}


@PROFILE
@given(st.text(max_size=80))
def test_any_text_compiles_or_is_refused_with_a_place_inside_it(query: str) -> None:
    try:
        compile_query(query)
    except QueryError as refused:
        place = re.search(r"at character (\d+)", str(refused))
        if place:
            assert 1 <= int(place.group(1)) <= len(query)
