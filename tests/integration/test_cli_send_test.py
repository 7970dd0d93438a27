"""``digest send-test``: a sample digest through the configured mailer, recording nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from digest.clock import utcnow
from digest.db import Database
from digest.sources.hf_daily import parse_api_items
from digest.store import papers
from tests.conftest import hf_fixture
from tests.support.cli import SECRET_KEY, Digest, migrated
from tests.support.db_state import snapshot
from tests.support.smtp_server import SmtpServer, free_port

DAY = dt.date(2026, 6, 12)


def smtp_env(database_url: str, port: int) -> dict[str, str]:
    return {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_TLS": "none",
        "DIGEST_SECRET_KEY": SECRET_KEY,
        "DIGEST_MAIL_FROM": "Paper Digest <digest@example.org>",
    }


@pytest.fixture
def digest(
    database_url: str, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Digest:
    monkeypatch.chdir(tmp_path)
    return migrated(smtp_env(database_url, smtp.port))


def store_listing(database_url: str) -> list[str]:
    """Store the recorded listing of 2026-06-12; returns the titles, most upvoted first."""
    records = parse_api_items(hf_fixture("api-daily_papers-2026-06-12.json"), DAY)

    async def write() -> None:
        db = Database.from_url(database_url)
        try:
            async with db.transaction() as session:
                await papers.upsert_papers(session, records, "api", utcnow())
        finally:
            await db.dispose()

    asyncio.run(write())
    ranked = sorted(records, key=lambda record: (-record.upvotes, record.arxiv_id))
    return [record.title for record in ranked]


def test_without_stored_papers_the_built_in_sample_goes_over_smtp(
    digest: Digest, smtp: SmtpServer, database_url: str
) -> None:
    before = snapshot(database_url)

    result = digest("send-test", "Zed@Example.org")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"sent a sample digest to zed@example.org via SMTP 127.0.0.1:{smtp.port}: "
        "3 built-in sample papers (no papers are stored yet), sample queries (not a subscriber)\n"
    )
    [message] = smtp.messages_to("zed@example.org")
    assert message["From"] == "Paper Digest <digest@example.org>"
    text = message.get_body(("plain",)).get_content()
    assert "Attention Is All You Need" in text
    assert "matched: transformer" in text
    assert snapshot(database_url) == before  # no delivery, no ledger row, nothing


def test_with_stored_papers_a_subscriber_gets_the_latest_with_their_queries(
    digest: Digest, smtp: SmtpServer, database_url: str
) -> None:
    titles = store_listing(database_url)
    assert digest("subscribers", "add", "ada@example.org", "-k", "transformer").exit_code == 0
    before = snapshot(database_url)

    result = digest("send-test", "ada@example.org")

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(": 5 stored papers listed on 2026-06-12, their queries\n")
    [message] = smtp.messages_to("ada@example.org")
    html = message.get_body(("html",)).get_content()
    for title in titles[:5]:
        assert title.split(":")[0] in html
    assert titles[5].split(":")[0] not in html
    assert "transformer" in message.get_body(("plain",)).get_content()
    assert snapshot(database_url) == before


def test_without_smtp_the_sample_is_written_as_an_eml_file(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    digest = Digest({"DIGEST_DATABASE_URL": database_url, "DIGEST_OUTBOX_DIR": "mail"})
    assert digest("db", "upgrade").exit_code == 0

    result = digest("send-test", "zed@example.org")

    assert result.exit_code == 0, result.output
    assert "as an .eml file in mail/: 3 built-in sample papers" in result.stdout
    [eml] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "zed@example.org"


def test_an_unreachable_smtp_server_is_one_line_and_exit_code_1(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    digest = Digest(smtp_env(database_url, free_port()))  # nothing listens there
    assert digest("db", "upgrade").exit_code == 0
    before = snapshot(database_url)

    result = digest("send-test", "zed@example.org")

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "digest: error: the sample digest to zed@example.org was not sent: "
        "cannot connect to the SMTP server"
    )
    assert result.stderr.count("\n") == 1
    assert snapshot(database_url) == before


def test_a_bad_address_is_refused_before_anything_is_sent(digest: Digest, smtp: SmtpServer) -> None:
    result = digest("send-test", "zed@")
    assert result.exit_code == 2
    assert result.stderr.startswith("digest: error: invalid email address 'zed@'")
    assert smtp.received == []
