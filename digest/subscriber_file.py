"""The subscriber file of ``digest subscribers import`` and ``export``: read, check, write.

Pure: bytes in, checked entries out (and back), no database. A CSV file has a
header row naming its columns, in any order:

- ``email`` (required): the address.
- ``queries`` (required): the queries, separated by ``;``. May be empty only for
  an ``unsubscribed`` row.
- ``status`` (optional, default ``active``): pending, active, paused,
  unsubscribed or bounced.
- ``cadence`` (optional, default ``daily``): daily or weekly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from digest import subscriptions
from digest.errors import InputError
from digest.models import Cadence, SubscriberStatus

COLUMNS = ("email", "queries", "status", "cadence")
REQUIRED_COLUMNS = ("email", "queries")
QUERY_SEPARATOR = ";"

E = TypeVar("E", SubscriberStatus, Cadence)


@dataclass(frozen=True, slots=True)
class Entry:
    """One subscriber as the file describes them (checked and normalised)."""

    email: str
    queries: tuple[str, ...]
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    cadence: Cadence = Cadence.DAILY


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one row of the file cannot be imported."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class CheckedFile:
    entries: list[Entry]  # the good rows, in file order
    problems: list[Problem]  # the bad rows, in file order

    @property
    def rows(self) -> int:
        return len(self.entries) + len(self.problems)


def count_rows(data: bytes) -> int:
    """About how many rows the file has (its lines minus the header), for a progress bar."""
    return max(data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1, 0)


def read_csv(data: bytes, *, advance: Callable[[int], None] | None = None) -> CheckedFile:
    """Check every row of a subscriber CSV file.

    A bad row becomes a Problem (all bad rows are reported, not just the first);
    a file that cannot be read as CSV at all raises InputError. ``advance(1)``
    is called after each row, for a progress bar.
    """
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _header(reader)
    entries: list[Entry] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"line {reader.line_num}: malformed CSV: {exc}") from None
        if fields:  # blank lines are skipped
            entry_or_reasons = _check_row(header, fields, line, first_line)
            if isinstance(entry_or_reasons, Entry):
                entries.append(entry_or_reasons)
            else:
                problems.append(Problem(line, "; ".join(entry_or_reasons)))
            if advance:
                advance(1)
        line = reader.line_num + 1
    return CheckedFile(entries, problems)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")  # the byte-order mark spreadsheets write is not data
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not UTF-8 text (byte {exc.start + 1})") from None
    if "\0" in text:
        raise InputError("the file contains NUL bytes; is it really CSV?")
    return text


def _header(reader: Iterable[list[str]]) -> list[str]:
    try:
        header = [name.strip().lower() for name in next(iter(reader), [])]
    except csv.Error as exc:
        raise InputError(f"line 1: malformed CSV: {exc}") from None
    expected = f"expected a header row with {', '.join(COLUMNS)}"
    if not header:
        raise InputError(f"the file is empty; {expected}")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise InputError(f"line 1: unknown column {unknown[0]!r}; {expected}")
    duplicate = [name for name in COLUMNS if header.count(name) > 1]
    if duplicate:
        raise InputError(f"line 1: the column {duplicate[0]!r} appears twice")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InputError(f"line 1: no {missing[0]!r} column; {expected}")
    return header


def _check_row(
    header: Sequence[str], fields: Sequence[str], line: int, first_line: dict[str, int]
) -> Entry | list[str]:
    """The row as an Entry, or every reason it is bad."""
    if len(fields) != len(header):
        return [f"{len(fields)} fields, expected {len(header)} ({', '.join(header)})"]
    values = dict(zip(header, fields, strict=True))
    reasons: list[str] = []

    email = ""
    try:
        email = subscriptions.normalise_email(values["email"])
    except InputError as exc:
        reasons.append(str(exc))
    if email in first_line:
        reasons.append(f"{email} is already on line {first_line[email]}")
    elif email:
        first_line[email] = line

    status, cadence = SubscriberStatus.ACTIVE, Cadence.DAILY
    try:
        status = _choice(
            SubscriberStatus, "status", values.get("status", ""), SubscriberStatus.ACTIVE
        )
    except ValueError as exc:
        reasons.append(str(exc))
    try:
        cadence = _choice(Cadence, "cadence", values.get("cadence", ""), Cadence.DAILY)
    except ValueError as exc:
        reasons.append(str(exc))

    texts = [text for text in values["queries"].split(QUERY_SEPARATOR) if text.strip()]
    queries: list[str] = []
    if texts:
        try:
            queries = subscriptions.check_queries(texts)
        except InputError as exc:
            reasons.append(str(exc))
    elif status is not SubscriberStatus.UNSUBSCRIBED:
        reasons.append(f"no queries (separate several with {QUERY_SEPARATOR!r})")

    if reasons:
        return reasons
    return Entry(email, tuple(queries), status, cadence)


def _choice(kind: type[E], column: str, raw: str, default: E) -> E:
    """The member of ``kind`` named by ``raw`` (empty: ``default``); ValueError says why not."""
    value = raw.strip().lower()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"unknown {column} {raw.strip()!r} (one of {allowed})") from None


def write_csv(entries: Iterable[Entry]) -> str:
    """The entries as a CSV file that ``read_csv`` reads back to the same entries."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        queries = f"{QUERY_SEPARATOR} ".join(entry.queries)
        writer.writerow([entry.email, queries, entry.status.value, entry.cadence.value])
    return out.getvalue()


def write_json(entries: Iterable[Entry]) -> str:
    """The entries as one JSON array of objects with the same four fields."""
    document = [
        {
            "email": entry.email,
            "queries": list(entry.queries),
            "status": entry.status.value,
            "cadence": entry.cadence.value,
        }
        for entry in entries
    ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def separator_clashes(entries: Iterable[Entry]) -> list[str]:
    """Queries that contain the separator and so would read back from CSV as several."""
    return [
        f"{entry.email}: {query!r}"
        for entry in entries
        for query in entry.queries
        if QUERY_SEPARATOR in query
    ]
