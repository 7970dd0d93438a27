"""A day's papers, read once: which papers hold each word form, and each term, as bit masks.

Bit i of a mask stands for the day's i-th paper, so that a term's papers in a
field are a few integer operations on the masks of its words. A phrase is
found from the masks of its words' pairs ("sparse attention": papers where
"sparse" is directly followed by "attention"); word positions are read only
for the few phrases that pairs cannot settle (three words or more, a prefix in
a phrase), in the papers holding all their words.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from digest.matching.analysis import Document, FieldWords, analyse, term_spans
from digest.matching.program import Masks
from digest.matching.query import Field, Term, Token
from digest.matching.ranking import ABSTRACT_WEIGHT, AUTHOR_WEIGHT, TITLE_WEIGHT
from digest.matching.text import WORD, fold, forms

TITLE, ABSTRACT, AUTHORS = 0, 1, 2
Weights = npt.NDArray[np.int32]  # (terms, papers)
Sequences = list[tuple[Token, ...]] | None
_FIELDS = {
    Field.TEXT: (TITLE, ABSTRACT),
    Field.TITLE: (TITLE,),
    Field.ABSTRACT: (ABSTRACT,),
    Field.AUTHOR: (AUTHORS,),
}
_MOST_SEQUENCES = 16  # beyond this, a term is checked word position by word position


@dataclass(frozen=True, slots=True)
class Terms:
    """All queries' distinct terms, with what reading a day needs of them, worked out once."""

    terms: list[Term]
    sequences: list[Sequences]  # the word sequences each term stands for (see _sequences)
    prefixes: set[str]  # every prefix a term uses

    @classmethod
    def of(cls, terms: list[Term]) -> Terms:
        return cls(
            terms,
            [_sequences(term) for term in terms],
            {
                token.text
                for term in terms
                for slot in term.slots
                for alternative in slot
                for token in alternative
                if token.prefix
            },
        )


class Day:
    """A day's papers, read once: for each field, which papers hold each word form, each
    pair of forms that follow each other, and each prefix that a term uses."""

    def __init__(self, documents: list[Document], terms: Terms) -> None:
        self.documents = documents
        self.terms = terms
        self.forms: tuple[dict[str, int], ...] = ({}, {}, {})
        self.pairs: tuple[dict[str, int], ...] = ({}, {}, {})  # "a b" -> papers
        self.prefixes: tuple[dict[str, int], ...] = ({}, {}, {})
        self._positions: dict[tuple[int, int], FieldWords] = {}
        surfaces: tuple[dict[str, int], ...] = ({}, {}, {})
        for index, document in enumerate(documents):
            bit = 1 << index
            for field_index, texts in enumerate(_texts(document)):
                words: set[str] = set()
                pairs: set[tuple[str, str]] = set()
                for text in texts:
                    found = WORD.findall(fold(text).text)
                    words.update(found)
                    pairs.update(itertools.pairwise(found))
                by_surface, by_form = surfaces[field_index], self.forms[field_index]
                for word in words:
                    by_surface[word] = by_surface.get(word, 0) | bit
                    for form in forms(word):
                        by_form[form] = by_form.get(form, 0) | bit
                by_pair = self.pairs[field_index]
                for first, second in pairs:
                    for a in forms(first):
                        for b in forms(second):
                            key = f"{a} {b}"
                            by_pair[key] = by_pair.get(key, 0) | bit
        if terms.prefixes:
            shortest = min(map(len, terms.prefixes))
            longest = max(map(len, terms.prefixes))
            for by_surface, by_prefix in zip(surfaces, self.prefixes, strict=True):
                for surface, mask in by_surface.items():
                    for end in range(shortest, min(len(surface), longest) + 1):
                        if (prefix := surface[:end]) in terms.prefixes:
                            by_prefix[prefix] = by_prefix.get(prefix, 0) | mask

    def token_mask(self, field_index: int, token: Token) -> int:
        if token.prefix:
            return self.prefixes[field_index].get(token.text, 0)
        by_form = self.forms[field_index]
        mask = 0
        for form in forms(token.text):
            mask |= by_form.get(form, 0)
        return mask

    def pair_mask(self, field_index: int, first: Token, second: Token) -> int:
        """The papers where a word matching ``first`` is followed by one matching ``second``."""
        by_pair = self.pairs[field_index]
        mask = 0
        for a in forms(first.text):
            for b in forms(second.text):
                mask |= by_pair.get(f"{a} {b}", 0)
        return mask

    def term_masks(self) -> tuple[Masks, Weights]:
        """For each term, the papers holding it in any field it looks in (bit masks, as
        ``program`` reads them), and its weight in each paper: its weight in each field
        it occurs in (see ``ranking``)."""
        terms = self.terms.terms
        papers = len(self.documents)
        size = (papers + 7) // 8
        fields = [b"", b"", b""]
        found = map(self._term_fields, terms, self.terms.sequences)
        for field_index, chunks in enumerate(zip(*found, strict=True)):
            fields[field_index] = b"".join(mask.to_bytes(size, "little") for mask in chunks)
        title, abstract, authors = (
            np.frombuffer(masks, dtype=np.uint8).reshape(len(terms), size) for masks in fields
        )
        weights = np.zeros((len(terms), papers), dtype=np.int32)
        for masks, weight in (
            (title, TITLE_WEIGHT),
            (abstract, ABSTRACT_WEIGHT),
            (authors, AUTHOR_WEIGHT),
        ):
            weights += weight * np.unpackbits(masks, axis=1, count=papers, bitorder="little")
        return title | abstract | authors, weights

    def _term_fields(self, term: Term, sequences: Sequences) -> tuple[int, int, int]:
        masks = [0, 0, 0]
        for field_index in _FIELDS[term.field]:
            masks[field_index] = self._in_field(term, sequences, field_index)
        return masks[0], masks[1], masks[2]

    def _in_field(self, term: Term, sequences: Sequences, field_index: int) -> int:
        if sequences is None:
            return self._checked(term, field_index)
        found = unsure = 0
        for tokens in sequences:
            if len(tokens) == 1:
                found |= self.token_mask(field_index, tokens[0])
                continue
            mask = -1
            if any(token.prefix for token in tokens):  # no pair of forms says where a prefix is
                for token in tokens:
                    mask &= self.token_mask(field_index, token)
                unsure |= mask
                continue
            for first, second in itertools.pairwise(tokens):
                mask &= self.pair_mask(field_index, first, second)
                if not mask:
                    break
            if len(tokens) == 2:
                found |= mask  # two words that follow each other: the pair says it all
            else:
                unsure |= mask  # every two follow each other, but all of them in one place?
        unsure &= ~found
        if unsure:
            found |= self._checked(term, field_index, unsure)
        return found

    def _checked(self, term: Term, field_index: int, possible: int = -1) -> int:
        """The papers among ``possible`` holding the term, word position by word position."""
        for slot in term.slots:
            in_slot = 0
            for alternative in slot:
                in_alternative = -1
                for token in alternative:
                    in_alternative &= self.token_mask(field_index, token)
                in_slot |= in_alternative
            possible &= in_slot
            if not possible:
                return 0
        return sum(
            1 << paper
            for paper in bits(possible)
            if term_spans(self._words(paper, field_index), term.slots)
        )

    def _words(self, paper: int, field_index: int) -> FieldWords:
        """A paper's field as positioned words, read the first time a phrase needs them."""
        found = self._positions.get((paper, field_index))
        if found is None:
            texts = _texts(self.documents[paper])[field_index]
            found = self._positions[paper, field_index] = analyse(texts)
        return found


def _texts(document: Document) -> tuple[Sequence[str], Sequence[str], Sequence[str]]:
    return (document.title,), (document.abstract,), document.authors


def _sequences(term: Term) -> Sequences:
    """The word sequences the term stands for ("pre-training": pre training, pretraining);
    None when there are too many."""
    if math.prod(len(slot) for slot in term.slots) > _MOST_SEQUENCES:
        return None
    return [
        tuple(token for alternative in choice for token in alternative)
        for choice in itertools.product(*term.slots)
    ]


def bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
