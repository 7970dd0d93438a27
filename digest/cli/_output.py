"""Listing output: a table on a terminal, tab-separated lines in a pipe, or one JSON document."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table


def emit_rows(columns: Sequence[str], rows: Sequence[dict[str, Any]], *, as_json: bool) -> None:
    """Print ``rows`` (dicts keyed by ``columns``) the way the reader can use them."""
    if as_json:
        click.echo(json.dumps(list(rows), indent=2, ensure_ascii=False, default=str))
        return
    if sys.stdout.isatty():
        table = Table(*columns, box=None, header_style="bold")
        for row in rows:
            table.add_row(*(_cell(row[column]) for column in columns))
        Console().print(table)
        return
    for row in rows:
        click.echo("\t".join(_cell(row[column]) for column in columns))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)
