"""``python -m digest ...`` as a real process, and bounded polling for what it does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

BOUND_SECONDS = 60.0  # the longest any wait in these tests may take


async def until(condition: Callable[[], bool], what: str, bound: float = BOUND_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail after ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def until_async(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


class Process:
    """``python -m digest ARGS`` with only the DIGEST_* variables given; output in files."""

    def __init__(self, args: list[str], env: dict[str, str], folder: Path, name: str) -> None:
        self.name = name
        self.stdout = folder / f"{name}.out"
        self.stderr = folder / f"{name}.err"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "digest", *args],
                env=inherited | env,
                cwd=folder,
                stdout=out,
                stderr=err,
            )

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()

    def logged(self, text: str) -> bool:
        assert self.popen.poll() is None, f"{self.name} ended: {self.output()}"
        return text in self.stderr.read_text()

    async def wait(self) -> int:
        await until(lambda: self.popen.poll() is not None, f"{self.name} to end")
        return int(self.popen.returncode)

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def stop_for_good(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)
