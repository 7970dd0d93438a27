"""Failures a user can cause outside the database: one line, meaningful exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Digest


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_bad_setting_is_one_line_and_exit_code_2() -> None:
    result = Digest({"DIGEST_SMTP_PORT": "many"})("subscribers", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("digest: error: invalid setting DIGEST_SMTP_PORT:")
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_and_exit_code_1() -> None:
    result = Digest({"DIGEST_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})(
        "subscribers", "list"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "digest: error: cannot use the database postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_an_unmigrated_postgresql_database_asks_for_db_upgrade(empty_database_url: str) -> None:
    result = Digest({"DIGEST_DATABASE_URL": empty_database_url})("subscribers", "list")
    assert result.exit_code == 1
    assert "run 'digest db upgrade'" in result.stderr


def test_sqlite_migrates_by_itself_on_first_use(tmp_path: Path) -> None:
    result = Digest({"DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"})(
        "subscribers", "list"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh.db").exists()


def test_a_bad_date_is_a_usage_error() -> None:
    result = Digest({})("run", "--date", "12/06/2026")
    assert result.exit_code == 2
    assert "Invalid value for '--date'" in result.stderr


# Every command that opens the database, with valid arguments.
DATABASE_COMMANDS = [
    ["subscribers", "list"],
    ["subscribers", "add", "ada@example.org", "-k", "LLM"],
    ["subscribers", "show", "ada@example.org"],
    ["subscribers", "remove", "ada@example.org", "--yes"],
    ["subscribers", "pause", "ada@example.org"],
    ["subscribers", "resume", "ada@example.org"],
    ["subscribers", "set-cadence", "ada@example.org", "weekly"],
    ["subscribers", "set-queries", "ada@example.org", "LLM"],
    ["subscribers", "add-query", "ada@example.org", "LLM"],
    ["subscribers", "remove-query", "ada@example.org", "LLM"],
    ["subscribers", "import", "subscribers.csv"],
    ["subscribers", "export"],
    ["runs"],
    ["deliveries"],
    ["stats"],
    ["send-test", "ada@example.org"],
    ["db", "upgrade"],
    ["db", "current"],
    ["db", "check"],
]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://nobody@127.0.0.1:1/none", "cannot use the database postgresql+asyncpg://"),
        ("sqlite:///no/such/folder/digest.db", "digest.db: no folder no/such/folder"),
    ],
    ids=["postgresql", "sqlite"],
)
def test_every_command_on_an_unreachable_database_is_one_line_and_exit_code_1(
    url: str, reason: str
) -> None:
    Path("subscribers.csv").write_text("email,queries\nada@example.org,LLM\n")
    digest = Digest({"DIGEST_DATABASE_URL": url})
    for command in DATABASE_COMMANDS:
        result = digest(*command)
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr.startswith("digest: error: "), (command, result.stderr)
        assert reason in result.stderr, (command, result.stderr)
        assert result.stderr.count("\n") == 1, (command, result.stderr)
        assert result.stdout == "", (command, result.stdout)
    assert not Path("no").exists()


def test_debug_shows_the_traceback() -> None:
    url = {"DIGEST_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = Digest(url)("--debug", "stats")
    assert result.exit_code == 1
    assert isinstance(result.exception, Exception)
    assert "cannot use the database" in str(result.exception)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "No such option '--bogus'. (see 'digest --help')"),
        (["bogus"], "No such command 'bogus'. (see 'digest --help')"),
        (["subscribers", "bogus"], "No such command 'bogus'. (see 'digest subscribers --help')"),
        (
            ["db", "check", "now"],
            "Got unexpected extra argument (now) (see 'digest db check --help')",
        ),
        (
            ["runs", "--limit", "0"],
            "Invalid value for '-n' / '--limit': 0 is not in the range x>=1. "
            "(see 'digest runs --help')",
        ),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_to_read(args: list[str], message: str) -> None:
    result = Digest({})(*args)
    assert result.exit_code == 2
    assert result.stderr == f"digest: error: {message}\n"


def test_a_group_alone_shows_its_help() -> None:
    result = Digest({})("subscribers")
    assert result.exit_code == 2
    assert "Manage subscribers and their keyword queries." in result.output
    assert "digest: error" not in result.output
