"""End to end: a recorded listing over HTTP, three subscribers, a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import hf_fixture
from tests.support.cli import Digest, digest_env
from tests.support.listing_server import ListingServer, Reply, daily_papers, serving
from tests.support.smtp_server import SmtpServer

# Checked by hand against the recording (tests/data/fixtures/hf/api-daily_papers-2026-06-12.json).
SUBSCRIBERS = {
    "alice@example.org": (
        ['"speculative decoding"', '"sparse attention"'],
        {"2606.12243", "2606.13392"},
    ),
    # "transformation" (in 2606.13594) is not "transformer": whole words only.
    "bob@example.org": (["transformer"], {"2606.13289", "2606.09446", "2606.08788"}),
    "carol@example.org": (
        ["robot manipulation", "kernel GPU"],
        {"2606.08103", "2606.10896", "2606.13392"},
    ),
}


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(
        daily_papers({"2026-06-12": hf_fixture("api-daily_papers-2026-06-12.json")})
    ) as server:
        yield server


@pytest.fixture
def digest(
    database_url: str,
    listing: ListingServer,
    smtp: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Digest:
    monkeypatch.chdir(tmp_path)
    return Digest(digest_env(database_url, smtp, listing_url=listing.url, http_backoff_seconds="0"))


def paper_ids(text: str) -> set[str]:
    return set(re.findall(r"https://huggingface\.co/papers/(\d{4}\.\d{4,5})", text))


def test_each_subscriber_gets_exactly_their_matches_once(digest: Digest, smtp: SmtpServer) -> None:
    assert digest("db", "upgrade").exit_code == 0
    for email, (queries, _) in SUBSCRIBERS.items():
        args = [arg for query in queries for arg in ("-k", query)]
        assert digest("subscribers", "add", email, *args).exit_code == 0

    first = digest("run", "--date", "2026-06-12")
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == (
        "2026-06-12: sent: 30 papers fetched, 30 new, 3 subscribers matched, 3 emails queued (api)"
    )
    assert lines[1].startswith("outbox: 3 emails sent in ")

    assert len(smtp.received) == 3
    for email, (_, expected) in SUBSCRIBERS.items():
        [message] = smtp.messages_to(email)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert paper_ids(text) == expected
        assert paper_ids(html) == expected
        assert message["To"] == email
        assert message["From"] == "Paper Digest <digest@example.org>"
        assert message["Subject"] == f"{len(expected)} new papers for you · Fri 12 Jun 2026"
        assert message["Date"]
        assert message["Message-ID"]
        assert "https://digest.example.org/unsubscribe/" in text

    second = digest("run", "--date", "2026-06-12")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith(
        "2026-06-12: nothing_new: 30 papers fetched, 0 new, "
        "no subscriber has a matching paper they were not sent before (api)\n"
        "outbox: 0 emails sent in "
    )
    assert len(smtp.received) == 3


def test_a_subscriber_added_later_gets_the_day_but_others_get_nothing_again(
    digest: Digest, smtp: SmtpServer
) -> None:
    assert digest("db", "upgrade").exit_code == 0
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0
    assert digest("run", "--date", "2026-06-12").exit_code == 0
    assert digest("subscribers", "add", "dan@example.org", "-k", "transformer").exit_code == 0

    again = digest("run", "--date", "2026-06-12")

    assert again.exit_code == 0, again.output
    assert [r.rcpt_tos for r in smtp.received] == [("bob@example.org",), ("dan@example.org",)]


def test_a_failing_listing_is_a_failed_run_with_exit_code_1(
    digest: Digest, listing: ListingServer, smtp: SmtpServer
) -> None:
    listing.responder = lambda request: Reply(503, b"unavailable", {"Content-Type": "text/plain"})
    assert digest("db", "upgrade").exit_code == 0
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0

    result = digest("run", "--date", "2026-06-12")

    assert result.exit_code == 1
    assert "failed" in result.stdout
    assert "HTTP 503" in result.stderr
    assert "Traceback" not in result.stderr
    assert smtp.received == []


def test_an_unreachable_smtp_server_keeps_the_digest_queued_for_the_next_run(
    digest: Digest, smtp: SmtpServer
) -> None:
    assert digest("db", "upgrade").exit_code == 0
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0
    down = Digest(digest.env | {"DIGEST_SMTP_PORT": "1"})

    failed = down("run", "--date", "2026-06-12")
    assert failed.exit_code == 1
    assert "sending stopped: cannot connect to the SMTP server" in failed.stderr

    retried = digest("run", "--date", "2026-06-12")
    assert retried.exit_code == 0, retried.output
    [message] = smtp.messages_to("bob@example.org")
    assert (
        paper_ids(message.get_body(("plain",)).get_content()) == SUBSCRIBERS["bob@example.org"][1]
    )
