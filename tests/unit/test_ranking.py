"""Scores and order: title hits outweigh abstract hits, more queries more; ties go to upvotes."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.policy import default

from digest.emails import EmailComposer
from digest.matching import Document, Match, Matcher
from digest.models import Cadence, Delivery, DeliveryPaper, Paper, Subscriber, SubscriberStatus
from digest.rendering import Renderer, create_environment
from digest.tokens import LinkSigner


def ranked(queries: list[str], documents: list[Document]) -> list[Match]:
    return Matcher({1: queries}).match(documents).get(1, [])


def test_scores_add_title_3_abstract_1_author_3_per_term_found() -> None:
    paper = Document(
        "p",
        "Sparse Attention for LLMs",
        "We study sparse attention and KV caches.",
        upvotes=2,
        authors=("Tri Dao",),
    )
    assert ranked(['"sparse attention"'], [paper])[0].score == 3 + 1
    assert ranked(["cache"], [paper])[0].score == 1
    assert ranked(["title:llm"], [paper])[0].score == 3
    assert ranked(['author:"Tri Dao"'], [paper])[0].score == 3
    assert ranked(["sparse cache"], [paper])[0].score == (3 + 1) + 1
    # OR: every alternative found counts; an excluded term never does
    assert ranked(["cache OR diffusion"], [paper])[0].score == 1
    assert ranked(["cache -diffusion"], [paper])[0].score == 1
    # a subscriber's matching queries add up, and are all named
    both = ranked(['"sparse attention"', "diffusion", "cache"], [paper])[0]
    assert both == Match("p", ('"sparse attention"', "cache"), 5.0, 2)


def test_title_hits_rank_above_abstract_hits() -> None:
    in_title = Document("t", "Speculative decoding", "Nothing else.")
    in_abstract = Document("a", "Nothing else", "Speculative decoding.", upvotes=100)
    assert [m.paper_id for m in ranked(['"speculative decoding"'], [in_abstract, in_title])] == [
        "t",
        "a",
    ]


def test_more_matched_queries_rank_above_fewer() -> None:
    one = Document("one", "Robots", "A robot study.", upvotes=50)
    two = Document("two", "Robots", "A robot study of manipulation.")
    assert [m.paper_id for m in ranked(["robot", "manipulation"], [one, two])] == ["two", "one"]


def test_equal_scores_go_to_more_upvotes_then_to_the_id() -> None:
    papers = [
        Document("b", "Diffusion", "", upvotes=1),
        Document("c", "Diffusion", "", upvotes=9),
        Document("a", "Diffusion", "", upvotes=1),
    ]
    assert [m.paper_id for m in ranked(["diffusion"], papers)] == ["c", "a", "b"]


def test_each_subscriber_gets_only_their_own_matches() -> None:
    paper = Document("p", "Diffusion transformers", "")
    result = Matcher({1: ["diffusion"], 2: ["robot"], 3: ["robot", "transformer"]}).match([paper])
    assert result == {
        1: [Match("p", ("diffusion",), 3.0, 0)],
        3: [Match("p", ("transformer",), 3.0, 0)],
    }


def test_a_stored_query_that_no_longer_compiles_is_skipped_not_fatal() -> None:
    matcher = Matcher({1: ['"broken', "diffusion"], 2: ["(also broken"]})
    assert [r.subscriber for r in matcher.rejected] == [1, 2]
    assert "never closed" in matcher.rejected[0].error
    assert matcher.match([Document("p", "Diffusion", "")]) == {
        1: [Match("p", ("diffusion",), 3.0, 0)]
    }


def test_the_digest_lists_equal_scores_by_upvotes() -> None:
    subscriber = Subscriber(
        id=3, email="ada@example.org", status=SubscriberStatus.ACTIVE, cadence=Cadence.DAILY
    )
    subscriber.queries = []
    delivery = Delivery(id=1, subscriber=subscriber, subscriber_id=3)
    delivery.papers = [
        DeliveryPaper(
            paper=Paper(
                id=paper_id,
                title=f"Paper {paper_id}",
                abstract="",
                authors=[],
                listed_on=dt.date(2026, 6, 12),
                upvotes=upvotes,
            ),
            score=score,
            matched_queries=["q"],
        )
        for paper_id, score, upvotes in [
            ("2606.00001", 3.0, 1),
            ("2606.00002", 4.0, 0),
            ("2606.00003", 3.0, 7),
        ]
    ]
    composer = EmailComposer(
        Renderer(create_environment()),
        LinkSigner("k" * 40),
        public_url="https://digest.example.org",
        mail_from="Digest <digest@example.org>",
    )
    parsed = message_from_bytes(composer.digest(delivery).as_bytes(), policy=default)
    text = parsed.get_body(("plain",)).get_content()
    positions = [text.index(f"papers/2606.0000{n}") for n in (2, 3, 1)]
    assert positions == sorted(positions)


def test_the_same_query_twice_counts_once() -> None:
    paper = Document("p", "KV caches", "")
    assert ranked(["cache", "cache"], [paper]) == [Match("p", ("cache",), 3.0, 0)]
