"""Counted nouns for the lines people read: '1 email', '2 emails', '1 query'."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """'1 query', '2 queries', '0 rows'."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {plural or noun + 's'}"
