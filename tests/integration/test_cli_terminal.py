"""On a terminal: tables, a question before removing, and progress bars that go away.

The real ``digest`` program on a pseudo-terminal (tests/support/terminal.py);
the same commands in a pipe are covered by the other CLI tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import Digest
from tests.support.terminal import run_in_terminal


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {"DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}"}
    digest = Digest(environment)
    for email, query in [("ada@example.org", "LLM"), ("bob@example.org", "diffusion model")]:
        assert digest("subscribers", "add", email, "-k", query).exit_code == 0
    return environment


def test_listings_are_tables_on_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    listing = run_in_terminal("subscribers", "list", env=env, cwd=tmp_path)

    assert listing.exit_code == 0, listing.text
    lines = listing.text.splitlines()
    assert lines[0].split() == ["email", "status", "cadence", "queries", "created_at"]
    assert lines[1].split()[:4] == ["ada@example.org", "active", "daily", "LLM"]
    assert lines[2].split()[:5] == ["bob@example.org", "active", "daily", "diffusion", "model"]
    assert re.search(r"  \d{4}-\d\d-\d\d \d\d:\d\d$", lines[1].rstrip())  # to the minute
    assert "\t" not in listing.text
    assert "\x1b[1m" in listing.raw  # the header is bold

    stats = run_in_terminal("stats", env=env, cwd=tmp_path)
    assert stats.exit_code == 0, stats.text
    assert stats.text.splitlines()[0].split() == [
        "pending",
        "active",
        "paused",
        "unsubscribed",
        "bounced",
        "total",
    ]
    assert "no run yet" in stats.text

    shown = run_in_terminal("subscribers", "show", "ada@example.org", env=env, cwd=tmp_path)
    assert shown.text.splitlines()[0].split() == ["email", "ada@example.org"]


def test_remove_asks_first_and_no_keeps_the_subscriber(env: dict[str, str], tmp_path: Path) -> None:
    question = "Remove ada@example.org, their 1 query and their delivery history? [y/N]: "

    declined = run_in_terminal(
        "subscribers", "remove", "ada@example.org", env=env, cwd=tmp_path, answer=(question, "n\n")
    )

    assert declined.exit_code == 1
    assert question in declined.text
    assert "Aborted!" in declined.text
    assert "ada@example.org" in Digest(env)("subscribers", "list").stdout

    accepted = run_in_terminal(
        "subscribers", "remove", "ada@example.org", env=env, cwd=tmp_path, answer=(question, "y\n")
    )

    assert accepted.exit_code == 0, accepted.text
    assert accepted.text.endswith("removed ada@example.org\n")
    assert "ada@example.org" not in Digest(env)("subscribers", "list").stdout


def test_import_draws_a_progress_bar_and_erases_it(env: dict[str, str], tmp_path: Path) -> None:
    rows = "".join(f"user{number}@example.org,LLM\n" for number in range(2000))
    (tmp_path / "many.csv").write_text("email,queries\n" + rows)

    result = run_in_terminal("subscribers", "import", "many.csv", env=env, cwd=tmp_path)

    assert result.exit_code == 0, result.text
    assert "Checking rows" in result.raw
    assert "Importing" in result.raw
    assert "2000/2000" in result.raw
    # Erased again (cursor up, erase line), then the summary alone on its line.
    last_line = result.raw.rstrip("\r\n").rsplit("\n", 1)[-1]
    assert last_line.endswith(
        "\x1b[1A\x1b[2Kimported many.csv: 2000 rows: "
        "2000 added, 0 updated, 0 unchanged, 0 kept unsubscribed"
    )
