"""Papers and queries for the matching tests and benchmark, taken from the recorded listings.

- ``recorded_documents()``: every paper of the recorded Hugging Face listings
  in ``tests/data/fixtures/hf/`` (two API answers and one HTML page);
- ``day_of_papers(n)``: those, then variants (one paper's title and authors
  with another's abstract) up to ``n``;
- ``TRICKY_WORDS``: words that exercise the folding rules, for property tests;
- ``Vocabulary`` and ``random_query``: queries as subscribers write them,
  from words, phrases and author names of the recorded papers, mixing every
  element of the language (AND, phrases, OR, groups, exclusions, fields, prefixes).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from digest.matching import Document
from digest.matching.text import fold, forms, words

# Words that exercise the rules (plurals, hyphens, accents, tricky tokens), for tests.
TRICKY_WORDS = [
    "transformer", "Transformers", "transformation", "cache", "caches", "KV", "KV-cache",
    "C", "C++", "C#", "GPT-4", "GPT-4.5", "GPT4", "3D", "R1", "naïve", "naive", "memory",
    "efficient", "memory-efficient", "query", "queries", "LLM", "LLMs", "bias", "biases",
    "patch", "patches", "ﬁne-tuning", "fine", "tuning", "Σ-Mem", "x²", "has", "HA",
    "pre-training", "pretraining", "diffusion", "Diffusion", "video", "attention", "Qwen2.5",
]  # fmt: skip
TRICKY_SEPARATORS = [" ", " ", " ", "-", ", ", "/", " (", ") ", ". ", "\n"]

HF = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "hf"
_API_LISTINGS = ("api-daily_papers-2026-06-12.json", "api-daily_papers-2026-07-31-subset.json")
_PAGE_LISTING = "page-papers-2024-08-01.html"

_COMMON_WORDS = """
    a about above across after against all also although among an and any are as at be
    because been before being between both but by can could did do does during each
    either for from further had has have having here how however if in into is it its
    itself more most much must no nor not of on once only or other our over own per same
    should since so some such than that the their them then there these they this those
    through thus to too under until up upon very via was we were what when where whether
    which while who whom why will with within without would yet you your
"""
_STOPWORDS = frozenset(_COMMON_WORDS.split())
_WORD = re.compile(r"[^\s()\"“”]+")
_PUNCTUATION = re.compile(r"[*:/@~]|https?")  # URLs, "e.g.:" and the like are not queries
# Subscribers look for topics: a word in more than this share of the papers ("model",
# "results") would make a digest of nearly everything, and nobody subscribes to it.
_MOST_PAPERS = 0.15


def _document(item: dict[str, Any]) -> Document:
    paper = item["paper"]
    return Document(
        id=paper["id"],
        title=" ".join(paper["title"].split()),
        abstract=" ".join(paper.get("summary", "").split()),
        upvotes=int(paper.get("upvotes") or 0),
        authors=tuple(author["name"] for author in paper.get("authors", [])),
    )


def recorded_documents() -> list[Document]:
    """The 48 recorded papers, in file order."""
    items: list[dict[str, Any]] = []
    for name in _API_LISTINGS:
        items += json.loads((HF / name).read_text(encoding="utf-8"))
    page = BeautifulSoup((HF / _PAGE_LISTING).read_text(encoding="utf-8"), "html.parser")
    for node in page.select('[data-target="DailyPapers"][data-props]'):
        items += json.loads(str(node["data-props"]))["dailyPapers"]
    return [_document(item) for item in items]


def day_of_papers(count: int, seed: int = 0) -> list[Document]:
    """``count`` papers: the recorded ones, then variants made by recombining them."""
    recorded = recorded_documents()
    rng = random.Random(seed)
    papers = list(recorded[:count])
    while len(papers) < count:
        head, body = rng.sample(recorded, 2)
        papers.append(
            Document(
                id=f"9999.{len(papers):05d}",
                title=head.title,
                abstract=body.abstract,
                upvotes=rng.randrange(0, 60),
                authors=head.authors,
            )
        )
    return papers


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What subscribers of these papers would type: topic words and phrases, author names.

    A word found in more than 15% of the papers ("model", "introduces", or the
    prefix "gener*") is left out: it would make a digest of nearly everything.
    """

    words: tuple[str, ...]  # content words as written ("LLMs", "GPT-4", "memory-efficient")
    phrases: tuple[str, ...]  # two or three adjacent content words
    prefixes: tuple[str, ...]  # stems of five letters or more: "diffus", "quantiz"
    authors: tuple[str, ...]

    @classmethod
    def of(cls, documents: list[Document]) -> Vocabulary:
        most = _MOST_PAPERS * len(documents)
        in_papers: Counter[str] = Counter()  # word forms and prefixes -> papers holding them
        stems: set[str] = set()
        for document in documents:
            found = {
                key
                for text in (document.title, document.abstract)
                for word in words(fold(text).text)
                for key in (*forms(word.text), *_prefixes(word.text))
            }
            in_papers.update(found)
            stems.update(
                stem
                for text in (document.title, document.abstract)
                for word in words(fold(text).text)
                for stem in _stems(word.text)
            )

        def rare(word: str) -> bool:
            folded = words(fold(word).text)
            return bool(folded) and min(_papers_with(w.text) for w in folded) <= most

        def _papers_with(word: str) -> int:
            return max(in_papers[form] for form in forms(word))

        chosen: dict[str, None] = {}
        phrases: dict[str, None] = {}
        for document in documents:
            for text in (document.title, document.abstract):
                run: list[str] = []
                for raw in _WORD.findall(text):
                    word = raw.strip(".,;:!?'[]{}~`<>=%$&/\\|")
                    if (
                        len(word) >= 3
                        and word[0].isalnum()
                        and word.lower() not in _STOPWORDS
                        and not _PUNCTUATION.search(word)
                        and rare(word)
                    ):
                        chosen[word] = None
                        run.append(word)
                        if len(run) >= 2:
                            phrases[" ".join(run[-2:])] = None
                        if len(run) >= 3:
                            phrases[" ".join(run[-3:])] = None
                    else:
                        run = []
        prefixes = sorted(stem for stem in stems if in_papers[stem] <= most)
        authors = dict.fromkeys(name for document in documents for name in document.authors)
        return cls(tuple(chosen), tuple(phrases), tuple(prefixes), tuple(authors))


def _prefixes(word: str) -> list[str]:
    return [word[:end] + "*" for end in range(5, len(word) + 1)] if word.isalpha() else []


def _stems(word: str) -> list[str]:
    """The prefixes people might type for ``word``: five letters or more, a letter or two short."""
    if not word.isalpha() or len(word) < 7:
        return []
    return [word[:end] + "*" for end in range(5, len(word) - 1)]


def random_query(rng: random.Random, vocabulary: Vocabulary) -> str:
    """One query, of the kinds subscribers write, in realistic proportions."""

    def word() -> str:
        return rng.choice(vocabulary.words)

    def phrase() -> str:
        return f'"{rng.choice(vocabulary.phrases)}"'

    def term() -> str:
        return phrase() if rng.random() < 0.3 else word()

    def prefix() -> str:
        return rng.choice(vocabulary.prefixes)

    kind = rng.random()
    if kind < 0.25:
        return word()
    if kind < 0.45:
        return f"{word()} {word()}"
    if kind < 0.60:
        return phrase()
    if kind < 0.70:
        return f"{term()} OR {term()}"
    if kind < 0.74:
        return f"{term()} -{term()}"
    if kind < 0.78:  # words that occur together, so that the exclusion bites: "attention -sparse"
        first, *rest = rng.choice(vocabulary.phrases).split()
        return f"{first} -{rest[0]}"
    if kind < 0.84:
        return f"{rng.choice(['title', 'abstract'])}:{term()}"
    if kind < 0.90:
        return prefix() if rng.random() < 0.5 else f"{prefix()} {word()}"
    if kind < 0.94:
        return f'author:"{rng.choice(vocabulary.authors)}"'
    return f"({term()} OR {term()}) {term()} -{word()}"
