"""Golden files: what every email says and looks like, for a fixed input.

The input is the recorded listing of 2026-06-12 with a fixed clock and fixed
links (tests/support/emails.py). A change to a template, the view model or the
CSS inliner shows up here as a diff to read. Refresh on purpose only:

    DIGEST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_email_golden.py

and review ``git diff tests/data/golden`` before committing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from digest.models import RunStatus
from tests.support.emails import DAY, FOCUSED_QUERIES, composer, picks_for, subscriber

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
UPDATE = os.environ.get("DIGEST_UPDATE_GOLDEN") == "1"

CASES: dict[str, Callable[[], EmailMessage]] = {
    "digest": lambda: composer().digest_for(
        subscriber(FOCUSED_QUERIES), picks_for(FOCUSED_QUERIES)
    ),
    # Over the cap: three shown, the rest counted with a link; no postal address set.
    "digest-capped": lambda: composer(max_papers=3, postal_address=None).digest_for(
        subscriber(FOCUSED_QUERIES), picks_for(FOCUSED_QUERIES)
    ),
    "confirm": lambda: composer().confirmation(subscriber(FOCUSED_QUERIES), 7),
    "welcome": lambda: composer().welcome(subscriber(["transformer"])),
    "goodbye": lambda: composer().goodbye(subscriber(FOCUSED_QUERIES)),
    "alert": lambda: composer().alert(
        DAY,
        RunStatus.FAILED,
        "listing for 2026-06-12: HTTP 503 from "
        "https://huggingface.co/api/daily_papers?date=2026-06-12&limit=100&p=0",
    ),
}


def _parts(message: EmailMessage) -> dict[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return {
        "subject.txt": str(message["Subject"]) + "\n",
        "body.txt": str(text.get_content()),
        "body.html": str(html.get_content()),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_email_matches_its_golden_files(case: str) -> None:
    folder = GOLDEN / case
    for name, content in _parts(CASES[case]()).items():
        path = folder / name
        if UPDATE:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode())
            continue
        assert path.is_file(), f"{path} is missing: run with DIGEST_UPDATE_GOLDEN=1 to create it"
        expected = path.read_bytes().decode()
        assert content == expected, (
            f"{case}/{name} differs from its golden file; if the change is intended, "
            "refresh with DIGEST_UPDATE_GOLDEN=1 and review the diff"
        )


def test_every_golden_folder_belongs_to_a_case() -> None:
    """A renamed or removed case must not leave stale golden files behind."""
    assert {path.name for path in GOLDEN.iterdir() if path.is_dir()} == set(CASES)
