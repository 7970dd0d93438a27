"""Reading a server's Retry-After header: delay-seconds or an HTTP date (RFC 9110, 10.2.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.sources.fetching import retry_after_seconds, user_agent

NOW = dt.datetime(2026, 6, 13, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("Sat, 13 Jun 2026 07:01:30 GMT", 90.0),
        ("Sat, 13 Jun 2026 06:59:00 GMT", 0.0),  # already past: try now
        ("soon", None),  # unreadable: our own backoff decides
        ("-5", None),
        ("1.5", None),  # not delay-seconds (a whole number)
        (None, None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_user_agent_names_project_version_and_contact() -> None:
    agent = user_agent("https://lab.example.org/digest")
    assert agent.startswith("paper-digest/")
    assert agent.endswith(" (+https://lab.example.org/digest)")
