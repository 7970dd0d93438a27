"""Normalisation shared by queries and papers: fold, tokenize, and the forms a word matches.

The rules, in order (the README's "Queries" section states them for users):

1. Fold each character: Unicode compatibility forms (NFKC/NFKD: "ﬁ" is "fi",
   full-width "Ｇ" is "G", "²" is "2"), case (casefold: "ß" is "ss"), accents
   dropped ("naïve" is "naive"), and the few Latin letters that do not
   decompose ("ø", "ł", "æ", ...). A symbol is never folded into letters
   ("™" stays a symbol, not "tm"), so it keeps separating words.
2. Words are runs of letters and digits; everything else separates them.
   "GPT-4" is the two words "gpt" "4", "3D" and "R1" are one word each. A
   single letter directly followed by "++" or "#" is a word of its own
   ("C++", "C#", "F#"), distinct from "C".
3. A word matches another when they share a *form*: the word itself, and
   for a word ending in "s" the singulars it may be the plural of (see
   :func:`forms`). So "LLMs" matches "LLM", "caches" "cache", "queries"
   "query", "patches" "patch", and "transformer" never matches "transformation".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Letters that do not decompose into a base letter and an accent.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "ı": "i"}) | {
    ord("æ"): "ae",
    ord("œ"): "oe",
    ord("þ"): "th",
}
HYPHENS = frozenset("-\u2010")  # after folding, U+2011 (non-breaking hyphen) is U+2010

# A word: a single letter with "++" or "#" (C++, C#), or a run of letters and digits, where
# a point between two digits belongs to the word (GPT-4.5, Qwen2.5, 3.5B are not "4", "2").
WORD = re.compile(r"(?<![^\W_])[^\W\d_](?:\+\+|#)(?![^\W_])|[^\W_]+(?:(?<=\d)\.(?=\d)[^\W_]+)*")

# Three-letter words ending in "s" that are not plurals (so "HA" does not match "has").
_NOT_PLURAL = frozenset({"has", "was", "its", "his", "yes", "gas", "bus", "ous", "aws"})


@lru_cache(maxsize=8192)
def fold_char(char: str) -> str:
    """One character folded; may be empty (an accent) or longer ("ß" -> "ss")."""
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    folded = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    folded = folded.translate(_LETTERS)
    if not _is_word(char) and any(_is_word(c) for c in folded):
        return char  # "™" must not become the letters "tm"
    return folded


def _is_word(char: str) -> bool:
    return char.isalnum()


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and, for each of its characters, where it came from in the original."""

    text: str
    origins: tuple[int, ...] | None  # None: one character each, same places (ASCII)
    original_length: int

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded into ``text[start:end]``."""
        if self.origins is None:
            return start, end
        first = self.origins[start]
        last = self.origins[end - 1] + 1
        # Accents after the last letter fold to nothing: they belong to the word.
        following = self.origins[end] if end < len(self.origins) else self.original_length
        return first, max(last, following)


def fold(text: str) -> Folded:
    if text.isascii():
        return Folded(text.lower(), None, len(text))
    pieces: list[str] = []
    origins: list[int] = []
    for position, char in enumerate(text):
        piece = fold_char(char)
        pieces.append(piece)
        origins.extend([position] * len(piece))
    return Folded("".join(pieces), tuple(origins), len(text))


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a text: its folded form and its place in the folded text."""

    text: str
    start: int
    end: int


def words(folded: str) -> list[Word]:
    return [Word(m.group(), m.start(), m.end()) for m in WORD.finditer(folded)]


@lru_cache(maxsize=65536)
def forms(word: str) -> tuple[str, ...]:
    """The word and the singulars it may be the plural of; two words match when these meet.

    Guessing every singular (rather than picking one) is what lets "bias"
    meet "biases", "cache" meet "caches" and "patch" meet "patches" while
    "idea" still meets "ideas". A guess that is not a word ("bia") meets nothing.
    """
    if not word.endswith("s") or not word[:-1].isalpha() or len(word) < 3:
        return (word,)
    if len(word) == 3 and word in _NOT_PLURAL:
        return (word,)
    found = [word]
    if not word.endswith("ss"):
        found.append(word[:-1])  # llms -> llm, caches -> cache, gpus -> gpu, ideas -> idea
    if word.endswith("ies") and len(word) >= 5:
        found.append(word[:-3] + "y")  # queries -> query
    if word.endswith("es") and len(word) >= 5 and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        found.append(word[:-2])  # processes -> process, boxes -> box, patches -> patch
    if word.endswith("ices") and len(word) >= 6:
        found += [word[:-4] + "ix", word[:-4] + "ex"]  # matrices -> matrix, indices -> index
    return tuple(found)


def plurals(form: str) -> tuple[str, ...]:
    """Every word whose forms include ``form`` (the inverse of :func:`forms`)."""
    guesses = {form, form + "s", form + "es"}
    if form.endswith("y"):
        guesses.add(form[:-1] + "ies")
    if form.endswith(("ix", "ex")):
        guesses.add(form[:-2] + "ices")
    return tuple(sorted(guess for guess in guesses if form in forms(guess)))


@lru_cache(maxsize=65536)
def alike(word: str) -> tuple[str, ...]:
    """Every word that matches ``word`` (shares a form with it), ``word`` included."""
    return tuple(sorted({alike for form in forms(word) for alike in plurals(form)}))
