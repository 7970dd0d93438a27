"""Running the ``digest`` command in tests, in-process (CliRunner) with a clean environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from click.testing import CliRunner, Result

from digest.cli import cli

SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


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
