"""``digest db upgrade | current | check`` on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from digest import db as database
from tests.support.cli import Digest
from tests.support.db_state import execute

HEAD = database.head_revision()


@pytest.fixture
def digest(empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Digest:
    monkeypatch.chdir(tmp_path)
    return Digest({"DIGEST_DATABASE_URL": empty_database_url})


def sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def test_an_empty_database_is_reported_and_left_as_it_is(
    digest: Digest, empty_database_url: str
) -> None:
    current = digest("db", "current")
    check = digest("db", "check")

    assert current.exit_code == 0, current.output
    assert check.exit_code == 1
    assert check.stderr.count("\n") == 1
    if path := sqlite_file(empty_database_url):
        assert current.stdout == f"none (no database file yet; the latest is {HEAD})\n"
        assert check.stderr == f"digest: error: no database file {path}: run 'digest db upgrade'\n"
        assert not path.exists()  # looking did not create it
    else:
        assert current.stdout == f"none (the latest is {HEAD}: run 'digest db upgrade')\n"
        assert check.stderr == (
            f"digest: error: the database is at revision none, not {HEAD}: "
            "run 'digest db upgrade'\n"
        )
        assert digest("db", "current").stdout.startswith("none")  # check did not migrate


def test_after_upgrade_current_and_check_agree(digest: Digest) -> None:
    upgraded = digest("db", "upgrade")
    assert (upgraded.exit_code, upgraded.stdout) == (0, f"database at revision {HEAD}\n")

    assert digest("db", "current").stdout == f"{HEAD} (the latest)\n"
    check = digest("db", "check")
    assert (check.exit_code, check.stdout) == (
        0,
        f"database at revision {HEAD}, the latest; its schema matches the models\n",
    )


def test_check_finds_a_schema_that_drifted_from_the_models(
    digest: Digest, empty_database_url: str
) -> None:
    assert digest("db", "upgrade").exit_code == 0
    execute(
        empty_database_url,
        text("ALTER TABLE subscribers ADD COLUMN nickname VARCHAR(20)"),
        text("DROP INDEX ix_papers_listed_on"),
    )

    check = digest("db", "check")

    assert check.exit_code == 1
    assert check.stderr == (
        f"digest: error: the database is at revision {HEAD}, but its schema differs from "
        "the models: add_index ix_papers_listed_on, remove_column subscribers.nickname\n"
    )
