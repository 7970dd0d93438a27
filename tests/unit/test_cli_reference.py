"""The README's command-line reference and every command's --help tell the same story.

In the spirit of sqlite-utils' tests/test_docs.py: the click tree is walked, so a new
command or option without its line in the README (or without an example) fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from digest.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(group: click.Group = cli, path: str = "digest") -> Iterator[tuple[str, click.Command]]:
    """Every command under ``group`` (groups included) with its full name."""
    for name, command in sorted(group.commands.items()):
        full = f"{path} {name}"
        yield full, command
        if isinstance(command, click.Group):
            yield from commands(command, full)


LEAVES = [(path, command) for path, command in commands() if not isinstance(command, click.Group)]
ALL = [("digest", cli), *commands()]


def reference_rows() -> dict[str, str]:
    """The first cell of each row of the README's command tables, by command name."""
    section = README.read_text().split("## Command line\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for cell in re.findall(r"^\| `(digest [^`]*)` \|", section, flags=re.MULTILINE):
        words = [word for word in cell.split() if re.fullmatch(r"[a-z][a-z-]*", word)]
        rows[" ".join(words)] = cell
    return rows


def test_the_reference_has_one_row_per_command_and_no_other() -> None:
    assert sorted(reference_rows()) == sorted(path for path, _ in LEAVES)


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[path for path, _ in LEAVES])
def test_the_row_names_every_argument_and_option(path: str, command: click.Command) -> None:
    row = reference_rows()[path]
    for parameter in command.params:
        if isinstance(parameter, click.Argument):
            assert parameter.human_readable_name.upper() in row, parameter.name
        elif not parameter.hidden:
            assert any(name in row for name in parameter.opts if name.startswith("--")), (
                f"{path}: {parameter.opts} missing from the README row {row!r}"
            )


@pytest.mark.parametrize(("path", "command"), ALL, ids=[path for path, _ in ALL])
def test_every_help_has_an_example_of_its_own_command(path: str, command: click.Command) -> None:
    with click.Context(command, info_name=path) as ctx:
        text = command.get_help(ctx)
    heading = re.search(r"Examples?:", text)
    assert heading, path
    examples = text[heading.end() :]
    assert re.search(rf"(^|\s){re.escape(path)}(\s|$)", examples), f"{path}: {examples}"
