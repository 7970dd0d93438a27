"""``digest preview``: the email a subscriber would get, from stored papers, sent nowhere.

The papers are stored by a real ``digest run`` of the recorded listing (served
over HTTP on 127.0.0.1); the comparison email is delivered to a real SMTP server.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.conftest import hf_fixture
from tests.support.cli import Digest, digest_env
from tests.support.email_page import SCREENSHOTS, look
from tests.support.emails import BROAD_QUERIES
from tests.support.listing_server import ListingServer, daily_papers, serving
from tests.support.smtp_server import SmtpServer

DAY = "2026-06-12"
# Checked by hand against the recording: bob's three "transformer" papers.
BOB_PAPERS = {"2606.13289", "2606.09446", "2606.08788"}


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(daily_papers({DAY: hf_fixture("api-daily_papers-2026-06-12.json")})) as server:
        yield server


@pytest.fixture
def digest(
    database_url: str,
    listing: ListingServer,
    smtp: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Digest:
    """A database holding the day's papers (stored by a run with nobody subscribed)."""
    monkeypatch.chdir(tmp_path)
    cli = Digest(digest_env(database_url, smtp, listing_url=listing.url))
    assert cli("db", "upgrade").exit_code == 0
    stored = cli("run", "--date", DAY)
    assert "nothing_new: 30 papers fetched, 30 new" in stored.stdout, stored.output
    return cli


def _paper_ids(text: str) -> list[str]:
    return re.findall(r"https://huggingface\.co/papers/(\d{4}\.\d{4,5})", text)


def _without_tokens(text: str) -> str:
    """Signed links carry the second they were made; the rest must be identical."""
    return re.sub(r"/(manage|unsubscribe)/[\w.-]+", r"/\1/TOKEN", text)


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_the_preview_is_the_email_the_next_run_sends(
    digest: Digest, smtp: SmtpServer, tmp_path: Path
) -> None:
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0

    shown = digest("preview", "bob@example.org", "--date", DAY)
    saved = digest("preview", "bob@example.org", "--date", DAY, "-o", "bob.eml")
    page = digest("preview", "bob@example.org", "--date", DAY, "-o", "bob.html")

    assert shown.exit_code == 0, shown.output
    assert set(_paper_ids(shown.stdout)) == BOB_PAPERS
    assert shown.stdout.startswith("PAPER DIGEST · Friday 12 June 2026\n3 new papers matched")
    assert saved.exit_code == 0, saved.output
    assert saved.stdout.startswith("wrote bob.eml: 3 papers for bob@example.org on 2026-06-12")
    assert page.exit_code == 0, page.output
    assert smtp.received == []  # previews send nothing...

    sent = digest("run", "--date", DAY)  # ...and record nothing: the run still has them

    assert sent.exit_code == 0, sent.output
    assert "1 email sent" in sent.stdout
    [delivered] = smtp.messages_to("bob@example.org")
    previewed = _parse((tmp_path / "bob.eml").read_bytes())
    assert previewed["Subject"] == delivered["Subject"]
    assert _without_tokens(_body(previewed, "plain")) == _without_tokens(_body(delivered, "plain"))
    assert _without_tokens(_body(previewed, "plain")) == _without_tokens(shown.stdout)
    assert _without_tokens((tmp_path / "bob.html").read_text()) == _without_tokens(
        _body(delivered, "html")
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the settings, not SQL
def test_the_email_settings_reach_the_email(digest: Digest, tmp_path: Path) -> None:
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0
    configured = Digest(
        digest.env
        | {"DIGEST_POSTAL_ADDRESS": "Lab 4, 1 Example Lane", "DIGEST_EMAIL_THUMBNAILS": "true"}
    )

    text = configured("preview", "bob@example.org", "--date", DAY)
    page = configured("preview", "bob@example.org", "--date", DAY, "-o", "bob.html")

    assert text.exit_code == 0 and page.exit_code == 0, text.output + page.output
    assert text.stdout.rstrip().endswith("\n\nLab 4, 1 Example Lane")
    html = (tmp_path / "bob.html").read_text()
    assert len(re.findall(r'<img [^>]*src="https://cdn-thumbnails\.huggingface\.co/', html)) == 3
    assert "Lab 4, 1 Example Lane" in html


def test_papers_already_sent_are_left_out(digest: Digest) -> None:
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0
    assert digest("run", "--date", DAY).exit_code == 0
    assert digest("subscribers", "add", "dan@example.org", "-k", "transformer").exit_code == 0

    bob = digest("preview", "bob@example.org", "--date", DAY, "-o", "bob.html")
    dan = digest("preview", "dan@example.org", "--date", DAY)
    nobody = digest("subscribers", "add", "eve@example.org", "-k", "zeppelin")
    eve = digest("preview", "eve@example.org", "--date", DAY)

    assert bob.exit_code == 0, bob.output
    assert bob.stdout == (
        "bob@example.org would get no email for 2026-06-12: "
        "the 3 matching papers were all sent to them before\n"
    )
    assert not Path("bob.html").exists()
    assert set(_paper_ids(dan.stdout)) == BOB_PAPERS
    assert nobody.exit_code == 0
    assert eve.stdout == (
        "eve@example.org would get no email for 2026-06-12: "
        "none of the 30 stored papers matches their queries\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@example.org", "--date", DAY], "digest: error: no subscriber nobody@example.org"),
        (
            ["bob@example.org", "--date", "2026-06-13"],
            "digest: error: no papers stored for 2026-06-13: run 'digest run --date 2026-06-13'",
        ),
        (["not an address", "--date", DAY], "digest: error: invalid email address"),
        (["bob@example.org", "--date", DAY, "-o", "bob.pdf"], "must end in .html"),
    ],
    ids=["unknown-subscriber", "day-without-papers", "bad-address", "bad-output"],
)
# The queries behind these checks run on PostgreSQL in the tests above.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_input_is_one_line_and_exit_code_2(
    digest: Digest, args: list[str], message: str
) -> None:
    assert digest("subscribers", "add", "bob@example.org", "-k", "transformer").exit_code == 0

    result = digest("preview", *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(Path().glob("bob.*"))


DIGEST_PARTS = [
    "h1", ".sub", "h2 a", ".n", ".by", ".tldr", ".ex", "mark", ".why", ".why b",
    ".links", ".links a", ".more a", ".foot p", ".foot a",
]  # fmt: skip


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_preview_renders_in_chromium_at_desktop_and_phone_widths(
    digest: Digest, browser: Browser, tmp_path: Path
) -> None:
    """Saves tests/artifacts/email/digest-*.png for a person to look at, and checks what
    a person would (tests/support/email_page.py) in light and dark mode."""
    args = [arg for query in BROAD_QUERIES for arg in ("-k", query)]
    # The command runs its own event loop, so not on this test's.
    added = await asyncio.to_thread(digest, "subscribers", "add", "ada@example.org", *args)
    assert added.exit_code == 0, added.output
    preview = tmp_path / "digest.html"
    result = await asyncio.to_thread(
        digest, "preview", "ada@example.org", "--date", DAY, "-o", str(preview)
    )
    assert result.exit_code == 0, result.output
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "digest.html").write_bytes(preview.read_bytes())

    looks = await look(browser, preview, "digest", parts=DIGEST_PARTS, aligned="td.paper")

    assert [problem for seen in looks for problem in seen.problems()] == []
    for seen in looks:
        assert seen.counts["titles"] == 25
        assert seen.counts["marks"] > 25
        assert seen.counts["images"] == 0
