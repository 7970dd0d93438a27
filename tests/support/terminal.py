"""Running the real ``digest`` program on a pseudo-terminal, as a person at a keyboard would.

stdin, stdout and stderr are all the terminal, so ``isatty()`` is true for each
and the program can ask questions; an answer is typed when its question appears.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DIGEST = shutil.which("digest", path=str(Path(sys.executable).parent))
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass(frozen=True)
class TerminalRun:
    exit_code: int
    raw: str  # everything written to the terminal, escape sequences included

    @property
    def text(self) -> str:
        """What was written, without escape sequences and with plain line ends."""
        return _ESCAPES.sub("", self.raw).replace("\r\n", "\n")


def run_in_terminal(
    *args: str,
    env: Mapping[str, str],
    cwd: Path,
    answer: tuple[str, str] | None = None,
    columns: int = 140,
    timeout: float = 60,
) -> TerminalRun:
    """Run ``digest ARGS`` on a fresh terminal; type ``answer[1]`` once ``answer[0]`` shows."""
    assert DIGEST, "the digest console script is not installed next to this Python"
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("DIGEST_")
    }
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES"):
        inherited.pop(name, None)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        [DIGEST, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=cwd,
        env=inherited | {"TERM": "xterm-256color"} | dict(env),
        start_new_session=True,
    )
    os.close(terminal)
    output = bytearray()
    answered = answer is None
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"digest {' '.join(args)} still running: {output!r}")
            ready, _, _ = select.select([controller], [], [], min(remaining, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the program closed its end of the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and answer and answer[0].encode() in output:
                os.write(controller, answer[1].encode())
                answered = True
        exit_code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return TerminalRun(exit_code, output.decode("utf-8", errors="replace"))
