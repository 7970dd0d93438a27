"""``digest web``: the real command serves the pages, stops cleanly, and explains a busy port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import SECRET_KEY, Digest
from tests.support.smtp_server import free_port

BOUND_SECONDS = 20.0


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DIGEST_")}
    env |= {
        "DIGEST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}",
        "DIGEST_SECRET_KEY": SECRET_KEY,
        **settings,
    }
    return env


def wait_for_page(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + BOUND_SECONDS
    while True:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "digest web did not answer"
            time.sleep(0.05)


@pytest.mark.parametrize(
    ("from_settings", "stop"),
    [(False, signal.SIGINT), (True, signal.SIGTERM)],
    ids=["--port-then-ctrl-c", "DIGEST_WEB_PORT-then-sigterm"],
)
def test_digest_web_serves_the_pages_until_stopped(
    tmp_path: Path, from_settings: bool, stop: signal.Signals
) -> None:
    port = free_port()
    args = [] if from_settings else ["--host", "127.0.0.1", "--port", str(port)]
    settings = {"DIGEST_WEB_PORT": str(port)} if from_settings else {}
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "web", *args],
        cwd=tmp_path,
        env=clean_env(tmp_path, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/", process)
        assert page.status_code == 200
        assert '<label for="email">Email address</label>' in page.text
    finally:
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=BOUND_SECONDS)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr, stderr.decode()


def test_a_busy_port_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        digest = Digest(clean_env(tmp_path))

        result = digest("web", "--port", str(port))

    assert result.exit_code == 1
    assert result.stderr == (
        f"digest: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_a_bad_port_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    result = Digest(clean_env(tmp_path))("web", "--port", "70000")

    assert result.exit_code == 2
    assert "70000 is not in the range 1<=x<=65535" in result.stderr
