"""Log lines: one per event, text or JSON, and no email address at INFO or above."""

from __future__ import annotations

import json
import logging

import pytest

from digest import logs

# logs.configure changes the root logger: every test here gets it back as it was.
pytestmark = pytest.mark.usefixtures("restore_logging")


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_text_lines_are_one_per_event_in_utc(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "text")
    logging.getLogger("digest.pipeline").info("run %d for %s: %s", 7, "2026-06-12", "sent")
    logging.getLogger("digest.web").warning("first line\nsecond line")

    first, second = lines(capsys)
    assert first.endswith("Z INFO digest.pipeline: run 7 for 2026-06-12: sent")
    assert first[:20].count("-") == 2 and first[10] == "T"
    assert second.endswith("WARNING digest.web: first line\\nsecond line")


def test_json_lines_carry_time_level_logger_message_and_the_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("INFO", "json")
    log = logging.getLogger("digest.scheduler")
    log.info("the daily job ran 3 days")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("the daily job failed")

    first, second = (json.loads(line) for line in lines(capsys))
    assert first["level"] == "INFO"
    assert first["logger"] == "digest.scheduler"
    assert first["message"] == "the daily job ran 3 days"
    assert first["time"].endswith("Z")
    assert second["level"] == "ERROR"
    assert "RuntimeError: boom" in second["exc_info"]


ADDRESSES = [
    "ada@example.org",
    "Ada.Lovelace+digest@lab.example.ac.uk",
    "ada%40example.org",
    "josé@bücher.example",
    "用户@例子.广告",
]


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("address", ADDRESSES)
def test_addresses_are_redacted_at_info_and_above_from_any_logger(
    capsys: pytest.CaptureFixture[str], log_format: logs.LogFormat, address: str
) -> None:
    logs.configure("DEBUG", log_format)
    for name in ("digest.sender", "uvicorn.error", "mail.log", "aiosmtplib"):
        logging.getLogger(name).info("to %s", address)
        logging.getLogger(name).warning(f"refused <{address}>")
    try:
        raise ValueError(f"no such mailbox {address}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("digest.sender").debug("debugging %s", address)

    output = lines(capsys)
    redacted, debug = output[:-1], output[-1]
    assert not any(address in line for line in redacted), redacted
    # Eight lines, and the exception's message in the traceback.
    assert sum(line.count(logs.REDACTED) for line in redacted) == 9
    assert address in debug  # DEBUG lines keep addresses: they are for debugging


def test_digest_log_pii_keeps_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "text", pii=True)
    logging.getLogger("digest.sender").info("to %s", "ada@example.org")
    assert "to ada@example.org" in lines(capsys)[0]


def test_text_without_addresses_is_left_alone() -> None:
    text = "run 7 for 2026-06-12: sent; GET https://huggingface.co/api/daily_papers?date=x&p=0"
    assert logs.redact(text) == text
