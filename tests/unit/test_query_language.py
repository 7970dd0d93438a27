"""The query language, element by element: what a query matches and what it does not.

Each row is (query, text of a paper's title, whether it matches). The rows on
tricky tokens are the definition of "works as people expect" that the README
states; change both together.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.matching import Document, Matcher, compile_query

ABSTRACT = "An unrelated abstract about nothing in particular."


def matches(
    query: str, title: str, abstract: str = ABSTRACT, authors: tuple[str, ...] = ()
) -> bool:
    document = Document("p", title, abstract, 0, authors)
    return bool(Matcher({1: [query]}).match([document]))


SYNTAX = [
    # words: every one must occur (AND), anywhere in the title or abstract
    ("sparse attention", "Attention that is sparse", True),
    ("sparse attention", "Dense attention", False),
    ("sparse AND attention", "Attention that is sparse", True),
    # "quoted phrases": the words in this order, next to each other
    ('"sparse attention"', "MiniMax Sparse Attention", True),
    ('"sparse attention"', "Attention that is sparse", False),
    ('"sparse attention"', "Sparse, attention", True),  # punctuation between words is fine
    # OR between terms, binding tighter than the implicit AND
    ("diffusion OR flow", "Flow matching", True),
    ("diffusion OR flow", "Score matching", False),
    ("image diffusion OR flow", "Image flow", True),
    ("image diffusion OR flow", "Video flow", False),
    ('"speculative decoding" OR "sparse attention"', "Sparse attention", True),
    # parentheses group
    ("(image OR video) diffusion", "Video diffusion", True),
    ("(image OR video) diffusion", "Audio diffusion", False),
    ("(image diffusion) OR (video generation)", "Video generation", True),
    ("(image diffusion) OR (video generation)", "Image generation", False),
    # -word, -"phrase" and NOT exclude
    ("diffusion -video", "Image diffusion", True),
    ("diffusion -video", "Video diffusion", False),
    ('diffusion -"video generation"', "Video diffusion", True),
    ('diffusion -"video generation"', "Diffusion for video generation", False),
    ("diffusion NOT video", "Video diffusion", False),
    ("diffusion -(video OR audio)", "Audio diffusion", False),
    # a hyphen inside a word is not an exclusion
    ("memory-efficient", "A memory-efficient kernel", True),
    # trailing * for a prefix
    ("diffus*", "Diffusion models", True),
    ("diffus*", "Diffuse light", True),
    ("diffus*", "Confusion", False),
    ('"video diffus*"', "Video diffusion transformers", True),
    ("self-superv*", "Self supervised learning", True),
    # fields
    ("title:agents", "LLM Agents", True),
    ("title:agents", "Nothing", False),
    ("abstract:unrelated", "Nothing", True),
    ("abstract:nothing", "Nothing", True),
    ("title:unrelated", "Nothing", False),
    ("title:(agents OR robots)", "Robots", True),
    ("ti:agents", "LLM Agents", True),  # arXiv's short names work too
    # typographic quotes, as phones type them
    ("“sparse attention”", "Sparse attention", True),
    # lower-case "or", "and", "not" are words
    ("diffusion or flow", "Diffusion or flow", True),
    ("diffusion or flow", "Diffusion", False),
]


@pytest.mark.parametrize(("query", "title", "expected"), SYNTAX)
def test_syntax(query: str, title: str, expected: bool) -> None:
    assert matches(query, title) is expected


def test_author_field_matches_one_author_name_not_the_title() -> None:
    authors = ("Tri Dao", "Albert Gu")
    assert matches('author:"Tri Dao"', "Mamba", authors=authors)
    assert matches("author:dao", "Mamba", authors=authors)
    assert matches('author:"Tri Dao"', "Mamba", authors=("TRI DAO",))
    assert not matches('author:"Tri Dao"', "Tri Dao", authors=("Albert Gu",))
    assert not matches('"Tri Dao"', "Mamba", authors=authors)  # no field: title and abstract
    # a phrase never runs from one author's name into the next
    assert not matches('author:"Dao Albert"', "Mamba", authors=authors)


NORMALISATION = [
    # case
    ("TRANSFORMER", "transformer", True),
    # accents folded, both ways, composed or not
    ("naive", "Naïve Bayes", True),
    ("naïve", "Naive Bayes", True),
    ("naive", "Nai\u0308ve Bayes", True),
    ("Niccolo", "Niccolò", True),
    ("Lodz", "Łódź", True),
    ("straße", "Strasse", True),
    # Unicode NFKC: ligatures, full-width letters, superscripts
    ("fine-tuning", "Eﬃcient ﬁne-tuning", True),
    ("efficient", "Eﬃcient", True),
    ("GPT", "ＧＰＴ", True),
    ("x2", "x²", True),
    # a symbol never becomes letters
    ("tm", "Model™", False),
    # whole words only
    ("transformer", "Transformers", True),
    ("transformer", "Transformation", False),
    ("transform", "Transformer", False),
    ("attention", "Self-attention", True),
    ("attention", "attentional", False),
    # singular and plural alike, both ways
    ("LLM", "LLMs", True),
    ("LLMs", "an LLM", True),
    ("cache", "caches", True),
    ("caches", "KV cache", True),
    ("query", "queries", True),
    ("queries", "a query", True),
    ("policy", "policies", True),
    ("patch", "patches", True),
    ("process", "processes", True),
    ("bias", "biases", True),
    ("biases", "bias", True),
    ("box", "boxes", True),
    ("idea", "ideas", True),
    ("GPU", "GPUs", True),
    ("gpus", "GPU kernels", True),
    ("API", "APIs", True),
    ("matrix", "matrices", True),
    ("index", "indices", True),
    ("movie", "movies", True),
    ("response", "responses", True),
    ("LM", "LMs", True),
    ("HA", "It has", False),  # "has", "was", "its" are not plurals
    ("corpus", "corpora", False),  # irregular plurals are not guessed
    # hyphen = space, and a hyphenated query also finds the words written together
    ("memory-efficient", "Memory efficient attention", True),
    ('"memory efficient"', "A memory-efficient kernel", True),
    ("memory-efficient", "Memoryefficient", True),
    ("pre-training", "Pretraining at scale", True),
    ("memory-efficient", "Efficient memory", False),
    ("memoryefficient", "Memory-efficient", False),  # one word does not split itself
]


@pytest.mark.parametrize(("query", "title", "expected"), NORMALISATION)
def test_normalisation(query: str, title: str, expected: bool) -> None:
    assert matches(query, title) is expected


# "As people expect", exactly: C++ and C# are words of their own; GPT-4 is the two
# words "GPT" "4" (so "GPT 4" and "GPT4" too) and never GPT-40, GPT-4o or GPT-4.5;
# 3D, R1 and KV are ordinary words.
TRICKY_TOKENS = [
    ("C++", "Written in C++ and Rust", True),
    ("C++", "Written in C and Rust", False),
    ("C", "Written in C++", False),
    ("C", "Written in C, fast", True),
    ("C#", "A C# library", True),
    ("C#", "A C library", False),
    ('"C++ code"', "Generating C++ code", True),
    ("GPT-4", "Evaluating GPT-4 on math", True),
    ("GPT-4", "Evaluating GPT 4 on math", True),
    ("GPT-4", "Evaluating GPT4 on math", True),
    ("GPT-4", "Evaluating gpt-4 on math", True),
    ("GPT-4", "Evaluating GPT-40 on math", False),
    ("GPT-4", "Evaluating GPT-4o on math", False),
    ("GPT-4", "Evaluating GPT-4.5 on math", False),
    ("GPT-4.5", "Evaluating GPT-4.5 on math", True),
    ("GPT-4o", "Evaluating GPT-4o on math", True),
    ("Qwen2.5", "Qwen2.5-VL technical report", True),
    ("Qwen2", "Qwen2.5-VL technical report", False),
    ("Llama 3", "Llama 3.1 report", False),
    ("3D", "3D reconstruction", True),
    ("3D", "From 2D/3D grids", True),
    ("3D", "3DGS splatting", False),
    ("3-D", "3D reconstruction", True),
    ("3D", "3-D reconstruction", False),  # write 3-D to find both spellings
    ("R1", "DeepSeek-R1 reasoning", True),
    ("R1", "R1-Zero training", True),
    ("R1", "R10 results", False),
    ("DeepSeek-R1", "DeepSeek R1 reasoning", True),
    ("KV", "KV-cache compression", True),
    ("KV", "KVs and more", True),
    ('"KV cache"', "KV-cache compression", True),
    ("3.5B", "A 3.5B model", True),
    ("3.5B", "A 3B model", False),
]


@pytest.mark.parametrize(("query", "title", "expected"), TRICKY_TOKENS)
def test_tricky_tokens(query: str, title: str, expected: bool) -> None:
    assert matches(query, title) is expected


def test_the_readme_examples_compile() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Queries") : readme.index("**Refused queries.**")]
    examples = re.findall(r"^\| `([^`]+)`", section, flags=re.MULTILINE)
    assert len(examples) >= 15
    for example in examples:
        compile_query(example)
