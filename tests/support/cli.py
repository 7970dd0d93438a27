"""Running the ``digest`` command in tests, in-process (CliRunner) with a clean environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from click.testing import CliRunner, Result

from digest.cli import cli
from tests.support.smtp_server import SmtpServer

SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
PUBLIC_URL = "https://digest.example.org"


def digest_env(
    database_url: str,
    smtp: SmtpServer,
    *,
    listing_url: str | None = None,
    public_url: str | None = PUBLIC_URL,
    **settings: str,
) -> dict[str, str]:
    """The DIGEST_* variables of a command on ``database_url`` that sends through the test
    SMTP server (plain text, no login) and fetches from ``listing_url`` when given.

    Each of ``settings`` becomes DIGEST_<NAME> (``http_retries="0"`` is
    DIGEST_HTTP_RETRIES=0); ``public_url=None`` leaves the service's default.
    """
    env = {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_SMTP_HOST": smtp.host,
        "DIGEST_SMTP_PORT": str(smtp.port),
        "DIGEST_SMTP_TLS": "none",
        "DIGEST_SECRET_KEY": SECRET_KEY,
        "DIGEST_MAIL_FROM": "Paper Digest <digest@example.org>",
    }
    if listing_url is not None:
        env["DIGEST_HF_BASE_URL"] = listing_url
    if public_url is not None:
        env["DIGEST_PUBLIC_URL"] = public_url
    return env | {f"DIGEST_{name.upper()}": value for name, value in settings.items()}


class Digest:
    """Invokes ``digest ...`` with only the DIGEST_* variables given here."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        inherited = {name: None for name in os.environ if name.startswith("DIGEST_")}
        runner = CliRunner()
        return runner.invoke(
            cli, list(args), env=inherited | self.env, input=input, prog_name="digest"
        )


def migrated(env: Mapping[str, str]) -> Digest:
    """``digest`` with ``env``, after a ``digest db upgrade`` checked to succeed."""
    tool = Digest(env)
    assert tool("db", "upgrade").exit_code == 0
    return tool
