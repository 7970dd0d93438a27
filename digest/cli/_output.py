"""What the reader sees: tables on a terminal, tab-separated lines in a pipe, or one JSON
document; progress bars that only a terminal gets; confirmation before destructive work.

Whether a stream is a terminal is decided by ``isatty()`` alone (not by FORCE_COLOR or
similar variables), so ``digest ... | cut -f1`` always gets plain lines.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digest.errors import InputError


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def emit_rows(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    as_json: bool,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Print ``rows`` (mappings keyed by ``columns``) the way the reader can use them.

    JSON: one array of objects. Terminal: a table, its columns titled by ``headers``
    where given (short titles keep a wide table on the screen). Pipe: one line per
    row, the columns separated by tabs, without a header (``cut -f1`` gives the first).
    """
    if as_json:
        emit_json([{column: row[column] for column in columns} for row in rows])
        return
    if stdout_is_terminal():
        titles = [(headers or {}).get(column, column) for column in columns]
        table = Table(*titles, box=None, header_style="bold")
        for row in rows:
            table.add_row(*(_cell(row[column], terminal=True) for column in columns))
        Console(highlight=False).print(table)
        return
    for row in rows:
        click.echo("\t".join(_cell(row[column]) for column in columns))


def emit_record(fields: Mapping[str, Any], *, as_json: bool) -> None:
    """Print one record: a JSON object, a two-column table, or ``name<TAB>value`` lines."""
    if as_json:
        emit_json(fields)
        return
    if stdout_is_terminal():
        table = Table(show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column()
        for name, value in fields.items():
            table.add_row(name, _cell(value, terminal=True))
        Console(highlight=False).print(table)
        return
    for name, value in fields.items():
        click.echo(f"{name}\t{_cell(value)}")


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=json_value))


def json_value(value: Any) -> Any:
    """How values that JSON lacks are written: ISO 8601 times and dates, enum values."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _cell(value: Any, *, terminal: bool = False) -> str:
    """A value as text. On a terminal, times are shown to the minute (all are UTC)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(item, terminal=terminal) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{_cell(key)} {_cell(item)}" for key, item in value.items())
    if terminal and isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.datetime | dt.date | enum.Enum):
        return str(json_value(value))
    # A tab or line break inside a value would split the row in a pipe.
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr while the block runs; yields ``advance(n)``.

    The bar is drawn only when stderr is a terminal and is erased when the block
    ends, so logs and pipes never see it.
    """
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.advance(task, done)


def confirm(question: str, *, assume_yes: bool, refusal: str) -> None:
    """Ask ``question`` on the terminal; aborts (exit code 1) unless the answer is yes.

    Without a terminal on stdin there is nobody to ask: unless ``assume_yes``
    (``--yes``), the work is refused with ``refusal`` as bad input (exit code 2).
    """
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{refusal}: stdin is not a terminal to confirm on (pass --yes)")
    click.confirm(question, default=False, abort=True)
