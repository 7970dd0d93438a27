"""The subscription emails and the alert in headless Chromium, light and dark, desktop and phone.

Screenshots go to tests/artifacts/email/<name>-<view>.png for a person to look at;
the digest itself is looked at through ``digest preview`` (test_preview.py).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import Browser

from digest.models import RunStatus
from tests.support.email_page import look
from tests.support.emails import DAY, FOCUSED_QUERIES, composer, subscriber

EMAILS: dict[str, tuple[Callable[[], EmailMessage], list[str]]] = {
    "confirm": (
        lambda: composer().confirmation(subscriber(FOCUSED_QUERIES), 7),
        ["h1", ".sec p", ".sec p b", ".btn a", ".sec p.note", ".sec p.note a", ".foot p"],
    ),
    "welcome": (
        lambda: composer().welcome(subscriber(FOCUSED_QUERIES)),
        ["h1", ".sec p", ".sec li", ".sec p a", ".foot p", ".foot a"],
    ),
    "goodbye": (
        lambda: composer().goodbye(subscriber(FOCUSED_QUERIES)),
        ["h1", ".sec p", ".sec p a", ".foot p"],
    ),
    "alert": (
        lambda: composer().alert(
            DAY,
            RunStatus.FAILED,
            "listing for 2026-06-12: HTTP 503 from https://huggingface.co/api/daily_papers"
            "?date=2026-06-12&limit=100&p=0 (after 3 attempts)",
        ),
        ["h1", ".sec p", ".sec pre", ".foot p", ".foot a"],
    ),
}


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(EMAILS))
async def test_the_email_reads_well_light_and_dark_on_desktop_and_phone(
    name: str, browser: Browser, tmp_path: Path
) -> None:
    build, parts = EMAILS[name]
    body = build().get_body(("html",))
    assert body is not None
    page = tmp_path / f"{name}.html"
    page.write_text(str(body.get_content()))

    looks = await look(browser, page, name, parts=parts, aligned="td.sec")

    assert [problem for seen in looks for problem in seen.problems()] == []
