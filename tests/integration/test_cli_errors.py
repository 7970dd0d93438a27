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


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_unmigrated_postgresql_database_asks_for_db_upgrade(database_url: str) -> None:
    result = Digest({"DIGEST_DATABASE_URL": database_url})("subscribers", "list")
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
