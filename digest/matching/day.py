"""A day's papers, read once: which papers hold each word form, and each term, as bit masks.

Bit i of a mask stands for the day's i-th paper, so that AND, OR and NOT over
all the day's papers at once are single integer operations.
"""

from __future__ import annotations

from collections.abc import Iterator

from digest.matching.analysis import Document, FieldWords, analyse, term_spans
from digest.matching.query import Field, Term, Token
from digest.matching.ranking import ABSTRACT_WEIGHT, AUTHOR_WEIGHT, TITLE_WEIGHT
from digest.matching.text import forms

TITLE, ABSTRACT, AUTHORS = 0, 1, 2
_FIELDS = {
    Field.TEXT: (TITLE, ABSTRACT),
    Field.TITLE: (TITLE,),
    Field.ABSTRACT: (ABSTRACT,),
    Field.AUTHOR: (AUTHORS,),
}


class Day:
    """A day's papers, read once: for each field, which papers hold each word form."""

    def __init__(self, documents: list[Document], prefixes: set[str]) -> None:
        self.documents = documents
        self.words: list[tuple[FieldWords, FieldWords, FieldWords]] = [
            (analyse((d.title,)), analyse((d.abstract,)), analyse(d.authors)) for d in documents
        ]
        self.forms: tuple[dict[str, int], ...] = ({}, {}, {})
        self.prefixes: tuple[dict[str, int], ...] = ({}, {}, {})
        shortest = min(map(len, prefixes), default=0)
        longest = max(map(len, prefixes), default=0)
        for index, fields in enumerate(self.words):
            bit = 1 << index
            for field_index, field_words in enumerate(fields):
                by_form = self.forms[field_index]
                for form in field_words.positions:
                    by_form[form] = by_form.get(form, 0) | bit
                if not prefixes:
                    continue
                by_prefix = self.prefixes[field_index]
                for surface in field_words.surfaces:
                    for end in range(shortest, min(len(surface), longest) + 1):
                        if surface[:end] in prefixes:
                            by_prefix[surface[:end]] = by_prefix.get(surface[:end], 0) | bit

    def candidates(
        self, anchors: dict[str, list[int]], prefix_anchors: dict[str, list[int]]
    ) -> set[int]:
        """The queries with an anchor among the day's words: the only ones that can match."""
        found: set[int] = set()
        for by_form, by_prefix in zip(self.forms, self.prefixes, strict=True):
            for form in by_form:
                if (queries := anchors.get(form)) is not None:
                    found.update(queries)
            for prefix in by_prefix:
                if (queries := prefix_anchors.get(prefix)) is not None:
                    found.update(queries)
        return found

    def token_mask(self, field_index: int, token: Token) -> int:
        if token.prefix:
            return self.prefixes[field_index].get(token.text, 0)
        by_form = self.forms[field_index]
        mask = 0
        for form in forms(token.text):
            mask |= by_form.get(form, 0)
        return mask


class TermMasks:
    """Which papers each term matches, per field, worked out the first time it is asked."""

    def __init__(self, day: Day, terms: list[Term]) -> None:
        self._day = day
        self._terms = terms
        self._fields: list[tuple[int, int, int] | None] = [None] * len(terms)
        self._any: list[int | None] = [None] * len(terms)
        self._weights: dict[int, dict[int, int]] = {}

    def __getitem__(self, term_id: int) -> int:
        mask = self._any[term_id]
        if mask is None:
            title, abstract, authors = self.fields(term_id)
            mask = self._any[term_id] = title | abstract | authors
        return mask

    def weights(self, term_id: int) -> dict[int, int]:
        """The term's score in each paper holding it: its weight in each field it occurs in."""
        found = self._weights.get(term_id)
        if found is None:
            title, abstract, authors = self.fields(term_id)
            found = self._weights[term_id] = {
                paper: TITLE_WEIGHT * (title >> paper & 1)
                + ABSTRACT_WEIGHT * (abstract >> paper & 1)
                + AUTHOR_WEIGHT * (authors >> paper & 1)
                for paper in bits(title | abstract | authors)
            }
        return found

    def fields(self, term_id: int) -> tuple[int, int, int]:
        found = self._fields[term_id]
        if found is None:
            term = self._terms[term_id]
            masks = [0, 0, 0]
            for field_index in _FIELDS[term.field]:
                masks[field_index] = self._in_field(term, field_index)
            found = self._fields[term_id] = (masks[0], masks[1], masks[2])
        return found

    def _in_field(self, term: Term, field_index: int) -> int:
        day = self._day
        single = term.single
        if single is not None:
            return day.token_mask(field_index, single)
        possible = -1
        for slot in term.slots:
            in_slot = 0
            for alternative in slot:
                in_alternative = -1
                for token in alternative:
                    in_alternative &= day.token_mask(field_index, token)
                in_slot |= in_alternative
            possible &= in_slot
            if not possible:
                return 0
        return sum(
            1 << paper
            for paper in bits(possible)
            if term_spans(day.words[paper][field_index], term.slots)
        )


def bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
