"""``digest subscribers`` on both databases: good input works, bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from digest.models import Subscriber, SubscriberStatus
from tests.support.cli import Digest, migrated
from tests.support.db_state import execute, snapshot


@pytest.fixture
def digest(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Digest:
    monkeypatch.chdir(tmp_path)
    return migrated({"DIGEST_DATABASE_URL": database_url})


def listed(digest: Digest, *options: str) -> list[dict[str, Any]]:
    result = digest("subscribers", "list", "--json", *options)
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def shown(digest: Digest, email: str) -> dict[str, Any]:
    result = digest("subscribers", "show", email, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def add(digest: Digest, email: str, *queries: str, cadence: str = "daily") -> None:
    args = [arg for query in queries for arg in ("-k", query)]
    result = digest("subscribers", "add", email, *args, "--cadence", cadence)
    assert result.exit_code == 0, result.output


def test_add_list_remove(digest: Digest) -> None:
    added = digest(
        "subscribers", "add", " Ada@Example.ORG ", "-k", "LLM", "-k", '"sparse attention"'
    )
    assert added.exit_code == 0, added.output
    assert added.stdout == "added ada@example.org with 2 queries\n"

    [row] = listed(digest)
    assert row["email"] == "ada@example.org"
    assert row["status"] == "active"
    assert row["cadence"] == "daily"
    assert row["queries"] == ["LLM", '"sparse attention"']

    plain = digest("subscribers", "list")
    assert plain.stdout.startswith('ada@example.org\tactive\tdaily\tLLM; "sparse attention"\t')

    removed = digest("subscribers", "remove", "ada@example.org", "--yes")
    assert removed.exit_code == 0
    assert removed.stdout == "removed ada@example.org\n"
    assert listed(digest) == []


def test_add_with_a_weekly_cadence(digest: Digest) -> None:
    add(digest, "ada@example.org", "LLM", cadence="weekly")
    assert [row["cadence"] for row in listed(digest)] == ["weekly"]


def test_list_filters_by_status_and_by_query_text(digest: Digest, database_url: str) -> None:
    add(digest, "ada@example.org", '"speculative decoding"', "LLM")
    add(digest, "bob@example.org", "diffusion transformer")
    add(digest, "carol@example.org", "robot manipulation")
    assert digest("subscribers", "pause", "bob@example.org").exit_code == 0

    def emails(*options: str) -> list[str]:
        return [row["email"] for row in listed(digest, *options)]

    assert emails("--status", "paused") == ["bob@example.org"]
    assert emails("--status", "active") == ["ada@example.org", "carol@example.org"]
    assert emails("--status", "active", "--status", "paused") == [
        "ada@example.org",
        "bob@example.org",
        "carol@example.org",
    ]
    assert emails("--query", "DECODING") == ["ada@example.org"]  # a substring, any case
    assert emails("--query", "o") == ["ada@example.org", "bob@example.org", "carol@example.org"]
    assert emails("--query", "transformer", "--status", "active") == []
    assert emails("--query", "%") == []  # LIKE wildcards are plain text here


def test_show_prints_one_subscriber(digest: Digest) -> None:
    add(digest, "ada@example.org", "LLM", cadence="weekly")
    record = shown(digest, "ADA@example.org")
    assert record["email"] == "ada@example.org"
    assert record["status"] == "active"
    assert record["cadence"] == "weekly"
    assert record["queries"] == ["LLM"]
    assert record["bounce_count"] == 0
    assert record["deliveries"] == {"pending": 0, "sending": 0, "sent": 0, "failed": 0}
    assert record["papers_sent"] == 0
    assert record["last_sent_at"] is None

    plain = digest("subscribers", "show", "ada@example.org")
    assert "email\tada@example.org\n" in plain.stdout
    assert "queries\tLLM\n" in plain.stdout
    assert "deliveries\tpending 0, sending 0, sent 0, failed 0\n" in plain.stdout


def test_pause_and_resume_and_their_repeats(digest: Digest) -> None:
    add(digest, "ada@example.org", "LLM")

    first = digest("subscribers", "pause", "ada@example.org")
    assert (first.exit_code, first.stdout) == (0, "paused ada@example.org\n")
    again = digest("subscribers", "pause", "ada@example.org")
    assert (again.exit_code, again.stdout) == (0, "ada@example.org is already paused\n")
    assert shown(digest, "ada@example.org")["status"] == "paused"

    resumed = digest("subscribers", "resume", "ada@example.org")
    assert (resumed.exit_code, resumed.stdout) == (0, "resumed ada@example.org\n")
    again = digest("subscribers", "resume", "ada@example.org")
    assert (again.exit_code, again.stdout) == (0, "ada@example.org is already active\n")
    assert shown(digest, "ada@example.org")["status"] == "active"


def test_resume_makes_a_bounced_subscriber_active_with_no_bounces(
    digest: Digest, database_url: str
) -> None:
    add(digest, "ada@example.org", "LLM")
    execute(
        database_url,
        update(Subscriber).values(status=SubscriberStatus.BOUNCED, bounce_count=3),
    )
    assert shown(digest, "ada@example.org")["bounce_count"] == 3

    result = digest("subscribers", "resume", "ada@example.org")

    assert result.exit_code == 0, result.output
    record = shown(digest, "ada@example.org")
    assert (record["status"], record["bounce_count"]) == ("active", 0)


def test_a_status_change_that_is_not_the_admins_to_make_is_refused(
    digest: Digest, database_url: str
) -> None:
    add(digest, "ada@example.org", "LLM")
    for status, command, message in [
        ("unsubscribed", "resume", "ada@example.org is unsubscribed; only a paused or bounced"),
        ("pending", "resume", "ada@example.org is pending; only a paused or bounced"),
        ("bounced", "pause", "ada@example.org is bounced; only an active subscriber"),
    ]:
        execute(database_url, update(Subscriber).values(status=SubscriberStatus(status)))
        assert_refused(digest, database_url, ["subscribers", command, "ada@example.org"], message)


def test_set_cadence(digest: Digest) -> None:
    add(digest, "ada@example.org", "LLM")
    result = digest("subscribers", "set-cadence", "ada@example.org", "weekly")
    assert (result.exit_code, result.stdout) == (0, "ada@example.org now gets a weekly digest\n")
    again = digest("subscribers", "set-cadence", "ada@example.org", "WEEKLY")
    assert again.stdout == "ada@example.org already gets a weekly digest\n"
    assert shown(digest, "ada@example.org")["cadence"] == "weekly"


def test_query_editing(digest: Digest) -> None:
    add(digest, "ada@example.org", "LLM", '"sparse attention"')

    replaced = digest("subscribers", "set-queries", "ada@example.org", "diffusion", "  LLM  ")
    assert replaced.exit_code == 0, replaced.output
    # A query kept keeps its place; new ones come after.
    assert shown(digest, "ada@example.org")["queries"] == ["LLM", "diffusion"]
    same = digest("subscribers", "set-queries", "ada@example.org", "diffusion", "LLM")
    assert same.stdout == "ada@example.org already has these queries\n"

    added = digest("subscribers", "add-query", "ada@example.org", '"mixture of experts"')
    assert added.stdout == (
        'ada@example.org now has the queries: LLM; diffusion; "mixture of experts"\n'
    )
    again = digest("subscribers", "add-query", "ada@example.org", "diffusion")
    assert (again.exit_code, again.stdout) == (0, "ada@example.org already has that query\n")

    removed = digest("subscribers", "remove-query", "ada@example.org", "llm")  # any case
    assert removed.exit_code == 0, removed.output
    assert shown(digest, "ada@example.org")["queries"] == ["diffusion", '"mixture of experts"']


BAD_ADDS = [
    (["not-an-address", "-k", "LLM"], "invalid email address 'not-an-address'"),
    (["ada@example.org"], "at least one query is needed"),
    (["ada@example.org", "-k", "  "], "query 1 ('  '): the query is empty"),
    (
        ["ada@example.org", "-k", "ok", "-k", '"open'],
        "query 2 ('\"open'): the quote at character 1 is never closed",
    ),
    (["ada@example.org\r\nBcc: x@y.z", "-k", "LLM"], "line break"),
    (["ada@example.org", "-k", "LLM", "--cadence", "hourly"], "Invalid value for '--cadence'"),
]


def assert_refused(digest: Digest, database_url: str, args: list[str], message: str) -> None:
    """The command fails as bad input, in one line naming the problem, and changes nothing."""
    before = snapshot(database_url)
    result = digest(*args)
    assert result.exit_code == 2, (args, result.output)
    assert result.stderr.startswith("digest: error: "), (args, result.stderr)
    assert message in result.stderr, (args, result.stderr)
    assert result.stderr.count("\n") == 1, (args, result.stderr)
    assert result.stdout == "", (args, result.stdout)
    assert snapshot(database_url) == before, args


def test_bad_input_is_refused_in_one_line_with_exit_code_2_and_nothing_written(
    digest: Digest, database_url: str
) -> None:
    for args, message in BAD_ADDS:  # one database for all cases: each must leave it as it was
        assert_refused(digest, database_url, ["subscribers", "add", *args], message)
    assert listed(digest) == []


def test_a_known_address_is_refused(digest: Digest) -> None:
    assert digest("subscribers", "add", "ada@example.org", "-k", "LLM").exit_code == 0
    again = digest("subscribers", "add", "ADA@example.org", "-k", "diffusion")
    assert again.exit_code == 2
    assert "ada@example.org is already a subscriber" in again.stderr
    [row] = listed(digest)
    assert row["queries"] == ["LLM"]


def test_an_unknown_subscriber_is_bad_input_and_changes_nothing(
    digest: Digest, database_url: str
) -> None:
    add(digest, "ada@example.org", "LLM")
    for command in [
        ["show", "nobody@example.org"],
        ["remove", "nobody@example.org", "--yes"],
        ["remove", "nobody@example.org"],  # refused as unknown before any question
        ["pause", "nobody@example.org"],
        ["resume", "Nobody@Example.org"],
        ["set-cadence", "nobody@example.org", "weekly"],
        ["set-queries", "nobody@example.org", "LLM"],
        ["add-query", "nobody@example.org", "LLM"],
        ["remove-query", "nobody@example.org", "LLM"],
    ]:
        assert_refused(
            digest, database_url, ["subscribers", *command], "no subscriber nobody@example.org"
        )


BAD_EDITS = [
    (["show", "ada@"], "invalid email address 'ada@'"),
    (["pause", "ada"], "invalid email address 'ada'"),
    (
        ["set-queries", "ada@example.org", "LLM", '"open'],
        "query 2 ('\"open'): the quote at character 1 is never closed",
    ),
    (["set-queries", "ada@example.org"], "Missing argument 'QUERIES...'"),
    (["add-query", "ada@example.org", "  "], "query '  ': the query is empty"),
    (["remove-query", "ada@example.org", "GPU"], "ada@example.org has no query 'GPU'"),
    (["remove-query", "bob@example.org", "LLM"], "'LLM' is the only query of bob@example"),
    (["set-cadence", "ada@example.org", "hourly"], "Invalid value for 'CADENCE'"),
    (["list", "--status", "gone"], "Invalid value for '--status'"),
    (["remove", "ada@example.org", "--force"], "No such option '--force'"),
]


def test_bad_edits_are_refused_and_change_nothing(digest: Digest, database_url: str) -> None:
    add(digest, "ada@example.org", "LLM", "diffusion")
    add(digest, "bob@example.org", "LLM")
    for command, message in BAD_EDITS:
        assert_refused(digest, database_url, ["subscribers", *command], message)


def test_remove_without_a_terminal_needs_yes(digest: Digest, database_url: str) -> None:
    add(digest, "ada@example.org", "LLM")
    before = snapshot(database_url)

    result = digest("subscribers", "remove", "ada@example.org")

    assert result.exit_code == 2
    assert result.stderr == (
        "digest: error: not removing ada@example.org: "
        "stdin is not a terminal to confirm on (pass --yes)\n"
    )
    assert snapshot(database_url) == before
    # Not even an answer piped in counts as a confirmation.
    piped = digest("subscribers", "remove", "ada@example.org", input="y\n")
    assert piped.exit_code == 2
    assert snapshot(database_url) == before
