"""A run of days compiles the subscribers' queries once, and again only when they change."""

from __future__ import annotations

from digest.matching import Document
from digest.pipeline import Matchers


def test_the_same_queries_reuse_the_compiled_matcher() -> None:
    matchers = Matchers()
    first = matchers.for_queries({1: ["LLM"], 2: ['"sparse attention"']})
    assert matchers.for_queries({1: ["LLM"], 2: ['"sparse attention"']}) is first


def test_changed_queries_are_compiled_again() -> None:
    matchers = Matchers()
    first = matchers.for_queries({1: ["LLM"]})
    changed = matchers.for_queries({1: ["diffusion"]})
    assert changed is not first
    paper = Document("2606.00001", "Diffusion models", "", 0, ())
    assert [m.paper_id for m in changed.match([paper])[1]] == ["2606.00001"]
    assert first.match([paper]) == {}
    assert matchers.for_queries({1: ["diffusion"]}) is changed
