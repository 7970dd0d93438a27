"""``digest subscribers import`` and ``export`` on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from digest.models import Subscriber, SubscriberStatus
from tests.support.cli import Digest, migrated
from tests.support.db_state import execute, snapshot

GOOD = (
    "email,queries,status,cadence\n"
    'ada@example.org,"LLM; ""sparse attention""",active,daily\n'
    "Bob@Example.org,diffusion,paused,weekly\n"
    "carol@example.org,,unsubscribed,\n"
    "dave@example.org,robot manipulation; kernel GPU,,\n"
)


@pytest.fixture
def digest(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Digest:
    monkeypatch.chdir(tmp_path)
    return migrated({"DIGEST_DATABASE_URL": database_url})


def subscribers(digest: Digest) -> dict[str, dict[str, Any]]:
    result = digest("subscribers", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["email"]: row for row in json.loads(result.stdout)}


def show(digest: Digest, email: str) -> dict[str, Any]:
    result = digest("subscribers", "show", email, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_import_adds_everyone_and_importing_again_changes_nothing(
    digest: Digest, database_url: str
) -> None:
    Path("subscribers.csv").write_text(GOOD)

    first = digest("subscribers", "import", "subscribers.csv")

    assert first.exit_code == 0, first.output
    assert first.stdout == (
        "imported subscribers.csv: 4 rows: 4 added, 0 updated, 0 unchanged, 0 kept unsubscribed\n"
    )
    assert first.stderr == ""  # no progress bar outside a terminal
    found = subscribers(digest)
    assert {
        email: (row["status"], row["cadence"], row["queries"]) for email, row in found.items()
    } == {
        "ada@example.org": ("active", "daily", ["LLM", '"sparse attention"']),
        "bob@example.org": ("paused", "weekly", ["diffusion"]),
        "carol@example.org": ("unsubscribed", "daily", []),
        "dave@example.org": ("active", "daily", ["robot manipulation", "kernel GPU"]),
    }
    assert show(digest, "carol@example.org")["unsubscribed_at"] is not None
    before = snapshot(database_url)

    again = digest("subscribers", "import", "subscribers.csv")

    assert again.exit_code == 0, again.output
    assert again.stdout == (
        "imported subscribers.csv: 4 rows: 0 added, 0 updated, 4 unchanged, 0 kept unsubscribed\n"
    )
    assert snapshot(database_url) == before  # not one row, not one timestamp


def test_a_known_address_takes_the_files_values_but_an_unsubscribed_one_stays_out(
    digest: Digest, database_url: str
) -> None:
    for email in ("ada@example.org", "bob@example.org", "carol@example.org"):
        assert digest("subscribers", "add", email, "-k", "LLM", "-k", "GPU").exit_code == 0
    execute(
        database_url,
        update(Subscriber)
        .where(Subscriber.email == "bob@example.org")
        .values(status=SubscriberStatus.UNSUBSCRIBED),
        update(Subscriber)
        .where(Subscriber.email == "carol@example.org")
        .values(status=SubscriberStatus.BOUNCED, bounce_count=2),
    )
    query_rows = {row[2]: row for row in snapshot(database_url)["queries"]}  # by text: kept ones
    Path("update.csv").write_text(
        "email,queries,status,cadence\n"
        "ada@example.org,GPU; diffusion,active,weekly\n"
        "bob@example.org,GPU,active,daily\n"
        "carol@example.org,LLM; GPU,active,daily\n"
    )

    result = digest("subscribers", "import", "update.csv")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "imported update.csv: 3 rows: 0 added, 2 updated, 0 unchanged, 1 kept unsubscribed\n"
    )
    ada = show(digest, "ada@example.org")
    assert (ada["queries"], ada["cadence"]) == (["GPU", "diffusion"], "weekly")
    assert (show(digest, "bob@example.org")["status"]) == "unsubscribed"
    carol = show(digest, "carol@example.org")
    assert (carol["status"], carol["bounce_count"]) == ("active", 0)
    # A query that stays is the same row (same id, same creation time).
    kept = [row for row in snapshot(database_url)["queries"] if row[2] == "GPU"]
    assert query_rows["GPU"] in kept


def test_a_small_file_into_a_larger_list_finds_its_addresses(
    digest: Digest, database_url: str
) -> None:
    # Five stored, two in the file: looked up by address rather than by reading everyone.
    for number in range(5):
        assert digest("subscribers", "add", f"user{number}@example.org", "-k", "LLM").exit_code == 0
    Path("two.csv").write_text(
        "email,queries,cadence\nuser3@example.org,LLM; GPU,weekly\nnew@example.org,GPU,\n"
    )

    result = digest("subscribers", "import", "two.csv")

    assert result.stdout == (
        "imported two.csv: 2 rows: 1 added, 1 updated, 0 unchanged, 0 kept unsubscribed\n"
    )
    found = subscribers(digest)
    assert (found["user3@example.org"]["queries"], found["user3@example.org"]["cadence"]) == (
        ["LLM", "GPU"],
        "weekly",
    )
    assert found["user2@example.org"]["queries"] == ["LLM"]
    assert found["new@example.org"]["queries"] == ["GPU"]
    before = snapshot(database_url)
    assert digest("subscribers", "import", "two.csv").stdout == (
        "imported two.csv: 2 rows: 0 added, 0 updated, 2 unchanged, 0 kept unsubscribed\n"
    )
    assert snapshot(database_url) == before


def test_every_bad_row_is_reported_and_nothing_is_imported(
    digest: Digest, database_url: str
) -> None:
    Path("bad.csv").write_text(
        "email,queries,status,cadence\n"
        "ada@example.org,LLM,active,daily\n"
        "not-an-address,LLM,active,daily\n"
        'bob@example.org,"""open",active,daily\n'
        "carol@example.org,GPU,active,hourly\n"
        "ada@example.org,GPU,active,daily\n"
        "dave@example.org,GPU,active,daily\n"
    )
    before = snapshot(database_url)

    result = digest("subscribers", "import", "bad.csv")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "bad.csv:3: invalid email address 'not-an-address': An email address must have an @-sign.",
        "bad.csv:4: query 1 ('\"open'): the quote at character 1 is never closed",
        "bad.csv:5: unknown cadence 'hourly' (one of daily, weekly)",
        "bad.csv:6: ada@example.org is already on line 2",
        "digest: error: 4 of 6 rows in bad.csv are invalid; nothing imported "
        "(fix them, or pass --skip-invalid to import the other 2)",
    ]
    assert snapshot(database_url) == before

    skipping = digest("subscribers", "import", "bad.csv", "--skip-invalid")

    assert skipping.exit_code == 0, skipping.output
    assert skipping.stdout == (
        "imported bad.csv: 6 rows: 2 added, 0 updated, 0 unchanged, 0 kept unsubscribed, "
        "4 invalid skipped\n"
    )
    assert len(skipping.stderr.splitlines()) == 4  # the bad rows, still named
    assert sorted(subscribers(digest)) == ["ada@example.org", "dave@example.org"]

    Path("all-bad.csv").write_text("email,queries\nada@,LLM\n")
    nothing_good = digest("subscribers", "import", "all-bad.csv")
    assert nothing_good.exit_code == 2
    assert nothing_good.stderr.splitlines()[-1] == (
        "digest: error: 1 of 1 row in all-bad.csv is invalid; nothing imported (fix it)"
    )


def test_a_dry_run_counts_and_changes_nothing(digest: Digest, database_url: str) -> None:
    assert digest("subscribers", "add", "ada@example.org", "-k", "GPU").exit_code == 0
    Path("subscribers.csv").write_text(GOOD)
    before = snapshot(database_url)

    result = digest("subscribers", "import", "subscribers.csv", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "would import (dry run, nothing changed) subscribers.csv: 4 rows: "
        "3 added, 1 updated, 0 unchanged, 0 kept unsubscribed\n"
    )
    assert snapshot(database_url) == before


def test_a_file_that_cannot_be_imported_is_refused_in_one_line(
    digest: Digest, database_url: str
) -> None:
    Path("empty.csv").write_text("")
    Path("header.csv").write_text("mail,queries\nada@example.org,LLM\n")
    Path("quote.csv").write_text('email,queries\nada@example.org,LLM\nbob@example.org,"GPU\n')
    Path("binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    Path("folder.csv").mkdir()
    before = snapshot(database_url)
    for args, message in [
        (["empty.csv"], "empty.csv: the file is empty; expected a header row"),
        (["header.csv"], "header.csv: line 1: unknown column 'mail'"),
        (["quote.csv"], "quote.csv: line 3: malformed CSV: unexpected end of data"),
        (["binary.csv"], "binary.csv: the file is not UTF-8 text (byte 1)"),
        (["missing.csv"], "Invalid value for 'FILE': 'missing.csv': No such file or directory"),
        (["folder.csv"], "Invalid value for 'FILE': 'folder.csv'"),
        ([], "Missing argument 'FILE'"),
    ]:
        result = digest("subscribers", "import", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"digest: error: {message}"), (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)
    assert snapshot(database_url) == before


def test_import_reads_stdin(digest: Digest) -> None:
    result = digest("subscribers", "import", "-", input=GOOD)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported <stdin>: 4 rows: 4 added")


def test_export_writes_what_import_reads(digest: Digest, tmp_path: Path) -> None:
    Path("subscribers.csv").write_text(GOOD)
    assert digest("subscribers", "import", "subscribers.csv").exit_code == 0

    exported = digest("subscribers", "export")

    assert exported.exit_code == 0, exported.output
    assert exported.stdout == (
        "email,queries,status,cadence\n"
        'ada@example.org,"LLM; ""sparse attention""",active,daily\n'
        "bob@example.org,diffusion,paused,weekly\n"
        "carol@example.org,,unsubscribed,daily\n"
        "dave@example.org,robot manipulation; kernel GPU,active,daily\n"
    )
    as_json = json.loads(digest("subscribers", "export", "--format", "json").stdout)
    assert as_json[1] == {
        "email": "bob@example.org",
        "queries": ["diffusion"],
        "status": "paused",
        "cadence": "weekly",
    }
    only_active = digest("subscribers", "export", "--status", "active").stdout
    assert [line.split(",")[0] for line in only_active.splitlines()] == [
        "email",
        "ada@example.org",
        "dave@example.org",
    ]

    # Into a second, empty database: the same subscribers come out again.
    elsewhere = Digest({"DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"})
    to_file = digest("subscribers", "export", "backup.csv")
    assert to_file.stdout == "exported 4 subscribers to backup.csv\n"
    assert elsewhere("subscribers", "import", "backup.csv").exit_code == 0
    assert elsewhere("subscribers", "export").stdout == exported.stdout


def test_export_to_a_json_file_and_to_a_place_that_cannot_be_written(digest: Digest) -> None:
    assert digest("subscribers", "add", "ada@example.org", "-k", "a;b").exit_code == 0

    to_json = digest("subscribers", "export", "all.json")
    assert to_json.exit_code == 0, to_json.output
    assert json.loads(Path("all.json").read_text())[0]["queries"] == ["a;b"]

    as_csv = digest("subscribers", "export")
    assert as_csv.stderr == (
        "digest: warning: ada@example.org: 'a;b' contains ';' "
        "and will read back from CSV as several queries\n"
    )

    nowhere = digest("subscribers", "export", "no/such/folder/all.csv")
    assert nowhere.exit_code == 2
    assert nowhere.stderr == (
        "digest: error: cannot write no/such/folder/all.csv: no folder no/such/folder\n"
    )
    assert not Path("no").exists()
    assert list(Path().glob(".*.tmp")) == []
