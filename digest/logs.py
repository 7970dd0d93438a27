"""Logging set-up, called once by the entry points (never at import).

One line per event on stderr: text for people (``2026-06-13T07:00:02Z INFO
digest.pipeline: ...``) or, with DIGEST_LOG_FORMAT=json, one JSON object per line.
A traceback (an unexpected failure) follows its line indented in text, and sits in the
``exc_info`` field in JSON.

No email address reaches a log line at INFO or above unless DIGEST_LOG_PII=true: the
handler's formatter replaces every address in the finished line, traceback included,
whichever logger wrote it (ours, uvicorn, aiosmtplib, a library we have not met yet).
Redacting the finished text rather than asking every call site to be careful is what
makes this hold; DEBUG lines keep addresses, for debugging.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

REDACTED = "[email]"
# Anything shaped like local@domain, also URL-encoded (%40), Unicode included; a
# Message-ID (<id@host>) goes too, which costs nothing.
EMAIL = re.compile(r"[\w.!#$&'*+/=?^`{|}~%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*", re.UNICODE)
NOISY = ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic", "apscheduler")


def redact(text: str) -> str:
    """``text`` with every email address replaced by [email]."""
    return EMAIL.sub(REDACTED, text)


class TextFormatter(logging.Formatter):
    """``time level logger: message`` in UTC; a message's own line breaks become ``\\n``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
        self.converter = time.gmtime

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")

    def formatException(self, ei: object) -> str:
        text = super().formatException(ei)  # type: ignore[arg-type]
        return "\n".join(f"  {line}" for line in text.splitlines())


def json_formatter() -> logging.Formatter:
    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,  # an address in a non-ASCII script stays readable to redact
        datefmt="%Y-%m-%dT%H:%M:%SZ",
    )
    formatter.converter = time.gmtime
    return formatter


class PrivateFormatter(logging.Formatter):
    """Wraps a formatter; redacts email addresses from lines at ``threshold`` and above."""

    def __init__(self, inner: logging.Formatter, threshold: int = logging.INFO) -> None:
        super().__init__()
        self.inner = inner
        self.threshold = threshold

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        return redact(line) if record.levelno >= self.threshold else line


def formatter(log_format: LogFormat = "text", *, pii: bool = False) -> logging.Formatter:
    """The formatter every handler of the service uses."""
    inner = json_formatter() if log_format == "json" else TextFormatter()
    return inner if pii else PrivateFormatter(inner)


def configure(level: str, log_format: LogFormat = "text", *, pii: bool = False) -> None:
    """One line per event on stderr, for every logger (third-party ones included)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format, pii=pii))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter (httpx logs every request at INFO) only when debugging.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
