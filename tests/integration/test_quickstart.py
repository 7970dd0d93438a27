"""The embedded defaults, as a new user meets them: the real ``digest`` program, a SQLite
file and an outbox folder of .eml files, with no configuration beyond the listing URL."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import hf_fixture
from tests.support.listing_server import ListingServer, daily_papers, serving

DIGEST = shutil.which("digest", path=str(Path(sys.executable).parent))


@pytest.fixture
def listing() -> Iterator[ListingServer]:
    with serving(
        daily_papers({"2026-06-12": hf_fixture("api-daily_papers-2026-06-12.json")})
    ) as server:
        yield server


def run(cwd: Path, listing: ListingServer, *args: str) -> subprocess.CompletedProcess[str]:
    assert DIGEST, "the digest console script is not installed next to this Python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_HF_BASE_URL"] = listing.url
    return subprocess.run(
        [DIGEST, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_first_run_needs_no_setup_and_writes_eml_files(
    tmp_path: Path, listing: ListingServer
) -> None:
    added = run(tmp_path, listing, "subscribers", "add", "ada@example.org", "-k", "transformer")
    assert added.returncode == 0, added.stderr

    result = run(tmp_path, listing, "run", "--date", "2026-06-12")

    assert result.returncode == 0, result.stderr
    assert "2026-06-12: sent: 30 papers fetched, 30 new" in result.stdout
    assert (tmp_path / "digest.db").is_file()
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ada@example.org"
    assert "Transformer" in message.get_body(("plain",)).get_content()
