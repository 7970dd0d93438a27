"""A day's papers, read once, and the papers each term of every query is found in.

Bit i of a mask stands for the day's i-th paper. A day is read into maps, per
field, from *keys* to the papers holding them: each word ("caches"), each run
of two or three words that follow each other ("sparse attention"), and each
prefix that a term uses ("diffus*"). Most terms are one of a few keys: the
words and runs that match them ("cache": "cache" or "caches";
"memory-efficient": "memory efficient", "memory efficients", "memoryefficient",
...), listed once when compiling, so a day finds every term's papers at once,
with numpy. Word positions are read only for the rest (four words or more, a
prefix inside a phrase), in the papers holding all their words.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from digest.matching.analysis import Document, FieldWords, analyse, term_spans
from digest.matching.program import Ints, Masks
from digest.matching.query import Field, Term, Token
from digest.matching.ranking import ABSTRACT_WEIGHT, AUTHOR_WEIGHT, TITLE_WEIGHT
from digest.matching.text import WORD, alike, fold

TITLE, ABSTRACT, AUTHORS = 0, 1, 2
WEIGHTS = (TITLE_WEIGHT, ABSTRACT_WEIGHT, AUTHOR_WEIGHT)
Weights = npt.NDArray[np.int32]  # (terms, papers)
_FIELDS = {
    Field.TEXT: (TITLE, ABSTRACT),
    Field.TITLE: (TITLE,),
    Field.ABSTRACT: (ABSTRACT,),
    Field.AUTHOR: (AUTHORS,),
}
_LONGEST_KEY = 3  # words in a key: "large language models"
_MOST_KEYS = 64  # a term with more is checked word by word


@dataclass(frozen=True, slots=True)
class FieldKeys:
    """The terms made of keys that look in one field, and their keys."""

    terms: Ints  # ids of the terms
    keys: list[str]
    key_from: Ints  # the i-th term's keys are key_ids[key_from[i]:key_from[i + 1]]
    key_ids: Ints
    runs: frozenset[str]  # the keys of two or three words: the only runs worth keeping


@dataclass(frozen=True, slots=True)
class Terms:
    """All queries' distinct terms, with what reading a day needs of them, worked out once."""

    terms: list[Term]
    fields: tuple[FieldKeys, FieldKeys, FieldKeys]
    checked: list[list[int]]  # by field: the terms that are not made of keys
    prefixes: set[str]  # every prefix a term uses

    @classmethod
    def of(cls, terms: list[Term]) -> Terms:
        in_field: list[list[tuple[int, list[str]]]] = [[], [], []]
        checked: list[list[int]] = [[], [], []]
        for index, term in enumerate(terms):
            found = _keys(term)
            for field_index in _FIELDS[term.field]:
                if found is None:
                    checked[field_index].append(index)
                else:
                    in_field[field_index].append((index, found))
        prefixes = {
            token.text
            for term in terms
            for slot in term.slots
            for alternative in slot
            for token in alternative
            if token.prefix
        }
        fields = (_field_keys(in_field[0]), _field_keys(in_field[1]), _field_keys(in_field[2]))
        return cls(terms, fields, checked, prefixes)


def _field_keys(terms: list[tuple[int, list[str]]]) -> FieldKeys:
    keys: dict[str, int] = {}
    key_from = [0]
    key_ids: list[int] = []
    for _, found in terms:
        key_ids += (keys.setdefault(key, len(keys)) for key in found)
        key_from.append(len(key_ids))
    return FieldKeys(
        np.array([index for index, _ in terms], dtype=np.int64),
        list(keys),
        np.array(key_from, dtype=np.int64),
        np.array(key_ids, dtype=np.int64),
        frozenset(key for key in keys if " " in key),
    )


class Day:
    """A day's papers, read once: for each field, the papers holding each key."""

    def __init__(self, documents: list[Document], terms: Terms) -> None:
        self.documents = documents
        self.terms = terms
        self.keys: tuple[dict[str, int], ...] = ({}, {}, {})  # by field: key -> papers
        self._positions: dict[tuple[int, int], FieldWords] = {}
        for index, document in enumerate(documents):
            bit = 1 << index
            for field_index, texts in enumerate(_texts(document)):
                keys: set[str] = set()
                runs: set[str] = set()
                for text in texts:  # the authors: no run goes from one name into the next
                    found = WORD.findall(fold(text).text)
                    keys.update(found)
                    runs.update(map(" ".join, itertools.pairwise(found)))
                    runs.update(map(" ".join, zip(found, found[1:], found[2:], strict=False)))
                keys.update(runs.intersection(terms.fields[field_index].runs))
                by_key = self.keys[field_index]
                for key in keys:
                    by_key[key] = by_key.get(key, 0) | bit
        prefixes = terms.prefixes
        if prefixes:
            shortest, longest = min(map(len, prefixes)), max(map(len, prefixes))
            for by_key in self.keys:
                for word, mask in [(k, m) for k, m in by_key.items() if " " not in k]:
                    for end in range(shortest, min(len(word), longest) + 1):
                        if (prefix := word[:end]) in prefixes:
                            by_key[prefix + "*"] = by_key.get(prefix + "*", 0) | mask

    def term_masks(self) -> tuple[Masks, Weights]:
        """For each term, the papers holding it in any field it looks in (bit masks, as
        ``program`` reads them), and its weight in each paper: its weight in each field
        it occurs in (see ``ranking``)."""
        terms = self.terms
        papers = len(self.documents)
        size = (papers + 7) // 8
        found = np.zeros((len(terms.terms), size), dtype=np.uint8)
        weights = np.zeros((len(terms.terms), papers), dtype=np.int32)
        for field_index, weight in enumerate(WEIGHTS):
            masks = np.zeros((len(terms.terms), size), dtype=np.uint8)
            keyed = terms.fields[field_index]
            if len(keyed.terms):
                by_key = self.keys[field_index]
                key_masks = _packed(map(by_key.get, keyed.keys, itertools.repeat(0)), size)
                masks[keyed.terms] = np.bitwise_or.reduceat(
                    key_masks[keyed.key_ids], keyed.key_from[:-1], axis=0
                )
            checked = terms.checked[field_index]
            if checked:
                masks[checked] = _packed(
                    (self._checked(terms.terms[index], field_index) for index in checked), size
                )
            found |= masks
            weights += weight * np.unpackbits(masks, axis=1, count=papers, bitorder="little")
        return found, weights

    def token_mask(self, field_index: int, token: Token) -> int:
        by_key = self.keys[field_index]
        if token.prefix:
            return by_key.get(token.text + "*", 0)
        mask = 0
        for word in alike(token.text):
            mask |= by_key.get(word, 0)
        return mask

    def _checked(self, term: Term, field_index: int) -> int:
        """The papers holding the term, word position by word position, among those
        holding all the words of one of its alternatives."""
        possible = -1
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
        """A paper's field as positioned words, read the first time a term needs them."""
        found = self._positions.get((paper, field_index))
        if found is None:
            texts = _texts(self.documents[paper])[field_index]
            found = self._positions[paper, field_index] = analyse(texts)
        return found


def _texts(document: Document) -> tuple[Sequence[str], Sequence[str], Sequence[str]]:
    return (document.title,), (document.abstract,), document.authors


def _keys(term: Term) -> list[str] | None:
    """The keys of which the papers holding ``term`` hold one (the words and runs of
    words that match it), or None when there are none such (a prefix inside a phrase,
    four words in a row) or too many to be worth it.

    A term is a run of slots, each of a few alternatives ("pre-training": "pre training"
    or "pretraining"), so it stands for every choice of one alternative per slot.
    """
    if math.prod(len(slot) for slot in term.slots) > _MOST_KEYS:
        return None
    keys: list[str] = []
    for choice in itertools.product(*term.slots):
        tokens = [token for alternative in choice for token in alternative]
        if len(tokens) == 1 and tokens[0].prefix:
            keys.append(tokens[0].text + "*")
        elif len(tokens) > _LONGEST_KEY or any(token.prefix for token in tokens):
            return None
        else:
            keys += map(" ".join, itertools.product(*(alike(token.text) for token in tokens)))
        if len(keys) > _MOST_KEYS:
            return None
    return keys


def _packed(masks: Iterable[int], size: int) -> Masks:
    """Integer bit masks as rows of ``size`` bytes (bit i of an integer: bit i % 8 of
    byte i // 8)."""
    little: Literal["little"] = "little"
    packed = b"".join(map(int.to_bytes, masks, itertools.repeat(size), itertools.repeat(little)))
    return np.frombuffer(packed, dtype=np.uint8).reshape(-1, size)


def bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
