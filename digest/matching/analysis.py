"""A paper's fields as positioned words, and where a term occurs in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from digest.matching.query import Alternative, Slot, Token
from digest.matching.text import WORD, fold, forms

_NOWHERE: set[int] = set()


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one paper that queries look at."""

    id: str
    title: str
    abstract: str
    upvotes: int = 0
    authors: tuple[str, ...] = ()


@dataclass(slots=True)
class FieldWords:
    """One field's words by position; several texts (the authors) are kept a position apart,
    so that no phrase runs from one author's name into the next."""

    positions: dict[str, set[int]] = field(default_factory=dict)  # every form of a word
    surfaces: dict[str, set[int]] = field(default_factory=dict)  # the folded word itself
    spans: list[tuple[int, int]] = field(default_factory=list)  # original characters, by position


def analyse(texts: Sequence[str], *, spans: bool = False) -> FieldWords:
    """The words of ``texts``; with ``spans``, also where each stands in its text (to mark it)."""
    result = FieldWords()
    positions, surfaces = result.positions, result.surfaces
    position = 0
    for text in texts:
        folded = fold(text)
        for match in WORD.finditer(folded.text):
            word = match.group()
            if word in surfaces:
                surfaces[word].add(position)
            else:
                surfaces[word] = {position}
            for form in forms(word):
                if form in positions:
                    positions[form].add(position)
                else:
                    positions[form] = {position}
            if spans:
                result.spans.append(folded.original_span(match.start(), match.end()))
            position += 1
        if spans:
            result.spans.append((len(text), len(text)))  # the gap between two texts
        position += 1
    return result


def token_positions(words_: FieldWords, token: Token) -> set[int]:
    """Where a word matching ``token`` stands: a shared form, or a word starting with a prefix.
    The set returned may be the field's own: do not change it."""
    if token.prefix:
        return {
            position
            for surface, positions in words_.surfaces.items()
            if surface.startswith(token.text)
            for position in positions
        }
    token_forms = forms(token.text)
    if len(token_forms) == 1:
        return words_.positions.get(token.text, _NOWHERE)
    found: set[int] = set()
    for form in token_forms:
        found.update(words_.positions.get(form, ()))
    return found


def _starts(words_: FieldWords, alternative: Alternative) -> set[int]:
    starts = token_positions(words_, alternative[0])
    for offset, token in enumerate(alternative[1:], start=1):
        if not starts:
            break
        following = token_positions(words_, token)
        starts = {start for start in starts if start + offset in following}
    return starts


def term_spans(words_: FieldWords, slots: tuple[Slot, ...]) -> set[tuple[int, int]]:
    """Every (first, after-last) word position where the slots follow each other."""
    spans = {
        (start, start + len(alternative))
        for alternative in slots[0]
        for start in _starts(words_, alternative)
    }
    for slot in slots[1:]:
        if not spans:
            break
        following = [(len(alternative), _starts(words_, alternative)) for alternative in slot]
        spans = {
            (first, end + length)
            for first, end in spans
            for length, starts in following
            if end in starts
        }
    return spans
