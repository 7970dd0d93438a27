"""Read a query as people write it into a tree, or say what is wrong and where.

Grammar (``OR`` binds tighter than the implicit AND, as in web search:
``speculative decoding OR sampling`` is ``speculative (decoding OR sampling)``)::

    query   := all
    all     := any ( ["AND"] any )*
    any     := unary ( "OR" unary )*
    unary   := ("-" | "NOT ") primary | primary
    primary := [field ":"] ( word ["*"] | '"' phrase '"' | "(" all ")" )

Positions in messages are 1-based characters of the query as given.
"""

from __future__ import annotations

import re
from enum import Enum, auto
from typing import NamedTuple

from digest.matching.query import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    MIN_PREFIX,
    And,
    CompiledQuery,
    Field,
    Node,
    Not,
    Or,
    QueryError,
    Slot,
    Term,
    Token,
    looks_for_something,
    walk_terms,
)
from digest.matching.text import HYPHENS, Word, fold, words

QUOTES = frozenset('"“”„″')  # typographic quotes, as phones and word processors type them
FIELDS = {
    "title": Field.TITLE,
    "ti": Field.TITLE,
    "abstract": Field.ABSTRACT,
    "abs": Field.ABSTRACT,
    "author": Field.AUTHOR,
    "au": Field.AUTHOR,
}
_FIELD = re.compile(r"([^\W\d_]+):(?!//)")  # "https://..." is a word
_NOT_SPACE = re.compile(r"\S+")
# A lexeme starts with a parenthesis, a quote, a "-" or a word (up to white space, a
# parenthesis or a quote). \s is what str.isspace() calls white space.
_QUOTE = re.compile("[" + "".join(QUOTES) + "]")
_LEXEME = re.compile(r"[()]|" + _QUOTE.pattern + r"|-|[^\s()" + "".join(QUOTES) + "]+")
_KEYWORDS = frozenset({"OR", "AND", "NOT"})


class Kind(Enum):
    WORD = auto()
    PHRASE = auto()
    OPEN = auto()
    CLOSE = auto()
    OR = auto()
    AND = auto()
    NOT = auto()
    FIELD = auto()


class Lexeme(NamedTuple):
    kind: Kind
    text: str
    position: int  # 0-based index into the query as given

    @property
    def where(self) -> str:
        return f"at character {self.position + 1}"


def compile_query(text: str) -> CompiledQuery:
    """Check and compile one query; raises QueryError naming the problem and its place."""
    stripped = text.strip()
    if not stripped:
        raise QueryError("the query is empty")
    if len(stripped) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"the query is {len(stripped)} characters long; the limit is {MAX_QUERY_LENGTH}"
        )
    plain = _plain(text)
    if plain is not None:
        return CompiledQuery(stripped, plain)
    root = _Parser(text, lex(text)).parse()
    count = sum(1 for _ in walk_terms(root))
    if count > MAX_TERMS:
        raise QueryError(f"the query has {count} terms; the limit is {MAX_TERMS}")
    _check_looks_for_something(root)
    return CompiledQuery(stripped, root)


def _plain(text: str) -> Node | None:
    """The tree of a query of plain words ("speculative decoding"), the most common kind,
    without lexing and parsing it; None for any other query. The tree is the parser's."""
    if not text.isascii():
        return None
    terms: list[Node] = []
    for match in _NOT_SPACE.finditer(text):
        word = match.group()
        if not word.isalnum() or word in _KEYWORDS:
            return None
        slots = (((Token(word.lower()),),),)
        terms.append(Term(Field.TEXT, slots, word, match.start() + 1))
    if not terms or len(terms) > MAX_TERMS:
        return None
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def lex(text: str) -> list[Lexeme]:
    lexemes: list[Lexeme] = []
    i = 0
    while (found := _LEXEME.search(text, i)) is not None:  # skips white space
        i = found.start()
        char = text[i]
        if char in "()":
            lexemes.append(Lexeme(Kind.OPEN if char == "(" else Kind.CLOSE, char, i))
            i += 1
        elif char in QUOTES:
            closing = _QUOTE.search(text, i + 1)
            if closing is None:
                raise QueryError(f"the quote at character {i + 1} is never closed")
            lexemes.append(Lexeme(Kind.PHRASE, text[i + 1 : closing.start()], i))
            i = closing.end()
        elif char == "-":  # at the start of a term; inside "memory-efficient" the word reads it
            if i + 1 == len(text) or text[i + 1].isspace() or text[i + 1] == ")":
                raise QueryError(f"'-' at character {i + 1} needs a word right after it")
            lexemes.append(Lexeme(Kind.NOT, "-", i))
            i += 1
        else:
            lexeme = _word_or_keyword(text, i, found.end())
            lexemes.append(lexeme)
            # After a field, what follows its colon is read on its own ("title:-x", "au:dao").
            i = i + len(lexeme.text) + 1 if lexeme.kind is Kind.FIELD else found.end()
    return lexemes


def _word_or_keyword(text: str, start: int, end: int) -> Lexeme:
    word = text[start:end]
    if word in ("OR", "AND", "NOT"):
        return Lexeme(Kind[word], word, start)
    field = _FIELD.match(word)
    if field:
        name = field.group(1)
        if name.lower() not in FIELDS:
            raise QueryError(
                f"unknown field '{name}:' at character {start + 1}; "
                "use title:, abstract: or author: (or put the word in quotes)"
            )
        after = start + len(name) + 1
        if after == len(text) or text[after].isspace() or text[after] == ")":
            raise QueryError(
                f"'{name}:' at character {start + 1} needs a word, phrase or group right after it"
            )
        return Lexeme(Kind.FIELD, name, start)
    star = word.find("*")
    if star >= 0 and star != len(word) - 1:
        raise QueryError(f"'*' at character {start + star + 1} can only end a word")
    return Lexeme(Kind.WORD, word, start)


class _Parser:
    def __init__(self, text: str, lexemes: list[Lexeme]) -> None:
        self._text = text
        self._lexemes = lexemes
        self._at = 0

    def _peek(self) -> Lexeme | None:
        return self._lexemes[self._at] if self._at < len(self._lexemes) else None

    def _next(self) -> Lexeme:
        lexeme = self._lexemes[self._at]
        self._at += 1
        return lexeme

    def parse(self) -> Node:
        root = self._all(Field.TEXT)
        extra = self._peek()
        if extra is not None:  # only a ')' stops _all
            raise QueryError(f"')' {extra.where} has no matching '('")
        return root

    def _all(self, field: Field) -> Node:
        children: list[Node] = []
        while (lexeme := self._peek()) is not None and lexeme.kind is not Kind.CLOSE:
            if lexeme.kind is Kind.AND:
                self._next()
                if not children:
                    raise QueryError(f"'AND' {lexeme.where} needs a term before it")
                self._expect_term_after(lexeme)
                continue
            children.append(self._any(field))
        if not children:
            raise QueryError("the query has no terms")
        return children[0] if len(children) == 1 else And(tuple(children))

    def _any(self, field: Field) -> Node:
        alternatives = [self._unary(field)]
        while (lexeme := self._peek()) is not None and lexeme.kind is Kind.OR:
            self._next()
            self._expect_term_after(lexeme)
            alternatives.append(self._unary(field))
        return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))

    def _expect_term_after(self, keyword: Lexeme) -> None:
        following = self._peek()
        if following is None or following.kind in (Kind.CLOSE, Kind.OR, Kind.AND):
            raise QueryError(f"'{keyword.text}' {keyword.where} needs a term after it")

    def _unary(self, field: Field) -> Node:
        lexeme = self._peek()
        if lexeme is not None and lexeme.kind is Kind.NOT:
            self._next()
            self._expect_term_after(lexeme)
            child = self._primary(field)
            if any(excluded for _, excluded in walk_terms(child)):
                raise QueryError(f"the exclusion {lexeme.where} holds another exclusion")
            return Not(child, lexeme.position + 1)
        return self._primary(field)

    def _primary(self, field: Field) -> Node:
        lexeme = self._peek()
        if lexeme is None:
            raise QueryError("the query ends where a term was expected")
        self._next()
        if lexeme.kind is Kind.FIELD:
            inner = self._peek()
            if inner is None or inner.kind not in (Kind.WORD, Kind.PHRASE, Kind.OPEN):
                raise QueryError(
                    f"'{lexeme.text}:' {lexeme.where} needs a word, phrase or group right after it"
                )
            return self._primary(FIELDS[lexeme.text.lower()])
        if lexeme.kind is Kind.WORD:
            return _term(field, lexeme, lexeme.text, lexeme.position)
        if lexeme.kind is Kind.PHRASE:
            if not lexeme.text.strip():
                raise QueryError(f"the quotes {lexeme.where} are empty")
            return _term(field, lexeme, lexeme.text, lexeme.position + 1)
        if lexeme.kind is Kind.OPEN:
            if (inner := self._peek()) is not None and inner.kind is Kind.CLOSE:
                raise QueryError(f"the parentheses {lexeme.where} are empty")
            group = self._all(field)
            close = self._peek()
            if close is None:
                raise QueryError(f"'(' {lexeme.where} is never closed")
            self._next()
            return group
        if lexeme.kind is Kind.CLOSE:
            raise QueryError(f"')' {lexeme.where} has no matching '('")
        if lexeme.kind is Kind.NOT:
            raise QueryError(f"'{lexeme.text}' {lexeme.where} cannot exclude an exclusion")
        raise QueryError(f"'{lexeme.text}' {lexeme.where} needs a term before it")


def _term(field: Field, lexeme: Lexeme, raw: str, offset: int) -> Term:
    """The term for a word or a phrase's inside; ``offset`` is where ``raw`` starts."""
    if raw.isascii() and raw.replace(" ", "").isalnum():
        # Plain words (most terms): each is one word of its own, folded by lower().
        plain: tuple[Slot, ...] = tuple(((Token(word),),) for word in raw.lower().split())
        return Term(field, plain, _shown(lexeme), lexeme.position + 1)
    return _folded_term(field, lexeme, raw, offset)


def _folded_term(field: Field, lexeme: Lexeme, raw: str, offset: int) -> Term:
    """The term for any word or phrase: folded, split into words, hyphens grouped."""
    folded = fold(raw)
    found = words(folded.text)
    if not found:
        raise QueryError(f"'{_shown(lexeme)}' {lexeme.where} has no letters or digits to look for")
    prefixes: list[bool] = []
    for word in found:
        _, end = folded.original_span(word.start, word.end)
        # A "*" after "C++" adds nothing: no longer word starts with it.
        prefixes.append(end < len(raw) and raw[end] == "*" and word.text.isalnum())
        if prefixes[-1] and len(word.text) < MIN_PREFIX:
            raise QueryError(
                f"'{word.text}*' at character {offset + end + 1}: a prefix needs "
                f"at least {MIN_PREFIX} letters before '*'"
            )
    slots = _slots(folded.text, found, prefixes)
    return Term(field, slots, _shown(lexeme), lexeme.position + 1)


def _slots(folded: str, found: list[Word], prefixes: list[bool]) -> tuple[Slot, ...]:
    """Group hyphenated words: "pre-training" also matches "pre training" and "pretraining"."""
    groups: list[list[int]] = [[0]]
    for index in range(1, len(found)):
        between = folded[found[index - 1].end : found[index].start]
        if len(between) == 1 and between in HYPHENS:
            groups[-1].append(index)
        else:
            groups.append([index])
    slots: list[Slot] = []
    for group in groups:
        tokens = tuple(Token(found[i].text, prefixes[i]) for i in group)
        alternatives = [tokens]
        joinable = all(t.text.isalnum() for t in tokens) and not any(t.prefix for t in tokens[:-1])
        if len(tokens) > 1 and joinable:
            alternatives.append((Token("".join(t.text for t in tokens), tokens[-1].prefix),))
        slots.append(tuple(alternatives))
    return tuple(slots)


def _shown(lexeme: Lexeme) -> str:
    return f'"{lexeme.text}"' if lexeme.kind is Kind.PHRASE else lexeme.text


def _check_looks_for_something(root: Node) -> None:
    if looks_for_something(root):
        return
    if not any(not excluded for _, excluded in walk_terms(root)):
        raise QueryError("the query only excludes; add a word to look for")
    culprit = _first_bare_exclusion(root)
    raise QueryError(
        f"the exclusion at character {culprit} is an OR alternative on its own; "
        "every alternative needs a word to look for"
    )


def _first_bare_exclusion(node: Node) -> int:
    if isinstance(node, Not):
        return node.position
    if isinstance(node, Or):
        for child in node.children:
            if not looks_for_something(child):
                return _first_bare_exclusion(child)
    if isinstance(node, And):  # none of its children looks for anything
        groups = [child for child in node.children if not isinstance(child, Not)]
        return _first_bare_exclusion(groups[0] if groups else node.children[0])
    raise AssertionError(f"a term always looks for something: {node}")
