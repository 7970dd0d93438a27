"""A compiled query: a small tree of terms joined by AND, OR and NOT.

Nodes are frozen and compare by meaning (not by where they were written), so
the same query typed by many subscribers is compiled, indexed and evaluated once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from digest.errors import InputError

MAX_QUERY_LENGTH = 500
MAX_TERMS = 30
MIN_PREFIX = 2  # letters before a "*": "a*" would match nearly every paper


class QueryError(InputError):
    """A query that cannot be understood; the message says what is wrong and where."""


class Field(StrEnum):
    """Where a term looks. TEXT (no field written) is the title or the abstract."""

    TEXT = "text"
    TITLE = "title"
    ABSTRACT = "abstract"
    AUTHOR = "author"


class Token(NamedTuple):
    """One folded word of a term; a prefix matches every word that starts with it.
    (A tuple: hashed and compared in C, as the terms of 100,000 subscribers are.)"""

    text: str
    prefix: bool = False


Alternative = tuple[Token, ...]  # words that must follow each other
Slot = tuple[Alternative, ...]  # one of these at this place ("pre-training" or "pretraining")


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a hyphenated word or a phrase: its slots must follow each other in one field."""

    field: Field
    slots: tuple[Slot, ...]
    source: str = dataclasses.field(default="", compare=False)  # as written, for messages
    position: int = dataclasses.field(default=0, compare=False)  # 1-based character

    @property
    def single(self) -> Token | None:
        """The token, when the term is one plain word (no phrase, no hyphen)."""
        if len(self.slots) == 1 and len(self.slots[0]) == 1 and len(self.slots[0][0]) == 1:
            return self.slots[0][0][0]
        return None


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    position: int = dataclasses.field(default=0, compare=False)


Node = Term | And | Or | Not


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A checked query: its text (stripped) and what it means."""

    text: str
    root: Node

    def terms(self) -> Iterator[tuple[Term, bool]]:
        """Every term with whether it is excluded (under a ``-`` or ``NOT``)."""
        return walk_terms(self.root)

    def positive_terms(self) -> tuple[Term, ...]:
        """The distinct terms the query looks for: what is scored and highlighted."""
        return tuple(dict.fromkeys(term for term, excluded in self.terms() if not excluded))


def walk_terms(node: Node, excluded: bool = False) -> Iterator[tuple[Term, bool]]:
    if isinstance(node, Term):
        yield node, excluded
    elif isinstance(node, Not):
        yield from walk_terms(node.child, True)
    else:
        for child in node.children:
            yield from walk_terms(child, excluded)


def looks_for_something(node: Node) -> bool:
    """Whether every paper the node matches must contain one of its non-excluded terms."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(looks_for_something(child) for child in node.children)
    return all(looks_for_something(child) for child in node.children)
