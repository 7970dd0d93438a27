"""``digest subscribers`` on both databases: good input works, bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import Digest


@pytest.fixture
def digest(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Digest:
    monkeypatch.chdir(tmp_path)
    tool = Digest({"DIGEST_DATABASE_URL": database_url})
    assert tool("db", "upgrade").exit_code == 0
    return tool


def listed(digest: Digest) -> list[dict[str, object]]:
    result = digest("subscribers", "list", "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def test_add_list_remove(digest: Digest) -> None:
    added = digest(
        "subscribers", "add", " Ada@Example.ORG ", "-k", "LLM", "-k", '"sparse attention"'
    )
    assert added.exit_code == 0, added.output
    assert added.stdout == "added ada@example.org with 2 queries\n"

    [row] = listed(digest)
    assert row["email"] == "ada@example.org"
    assert row["status"] == "active"
    assert row["queries"] == ["LLM", '"sparse attention"']

    plain = digest("subscribers", "list")
    assert plain.stdout.startswith('ada@example.org\tactive\tdaily\tLLM; "sparse attention"\t')

    removed = digest("subscribers", "remove", "ada@example.org")
    assert removed.exit_code == 0
    assert removed.stdout == "removed ada@example.org\n"
    assert listed(digest) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-address", "-k", "LLM"], "invalid email address 'not-an-address'"),
        (["ada@example.org"], "at least one query is needed"),
        (["ada@example.org", "-k", "  "], "query 1 ('  '): the query is empty"),
        (
            ["ada@example.org", "-k", "ok", "-k", '"open'],
            "query 2 ('\"open'): the quote at character 1 is never closed",
        ),
        (["ada@example.org\r\nBcc: x@y.z", "-k", "LLM"], "line break"),
    ],
)
def test_bad_input_is_refused_in_one_line_with_exit_code_2_and_nothing_written(
    digest: Digest, args: list[str], message: str
) -> None:
    result = digest("subscribers", "add", *args)

    assert result.exit_code == 2
    assert result.stderr.startswith("digest: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert listed(digest) == []


def test_a_known_address_is_refused(digest: Digest) -> None:
    assert digest("subscribers", "add", "ada@example.org", "-k", "LLM").exit_code == 0
    again = digest("subscribers", "add", "ADA@example.org", "-k", "diffusion")
    assert again.exit_code == 2
    assert "ada@example.org is already a subscriber" in again.stderr
    [row] = listed(digest)
    assert row["queries"] == ["LLM"]


def test_removing_an_unknown_subscriber_is_an_error(digest: Digest) -> None:
    result = digest("subscribers", "remove", "nobody@example.org")
    assert result.exit_code == 2
    assert "no subscriber nobody@example.org" in result.stderr
