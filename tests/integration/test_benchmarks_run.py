"""Every benchmark script still runs, at a tiny size, and prints its figures.

The figures themselves are not checked here (timing targets do not belong in
tests); this only keeps the scripts from rotting as the code they drive changes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RUNS = {
    "send": (
        ["benchmarks/bench_send.py", "--messages", "30", "--sample", "5", "--stages", "10"],
        ["--sink", "aiosmtpd"],
        ["messages/s", "ratio whole/raw", "plain 20 KiB messages", "CPU ms per message by stage"],
    ),
    "matching": (
        ["-m", "benchmarks.bench_matching", "--subscribers", "300", "--papers", "20"],
        ["--repeat", "1"],
        ["pairs/s", "identical results for 300 subscribers"],
    ),
    "import": (["benchmarks/bench_import.py", "--rows", "200"], [], ["the same import again"]),
    "web": (["benchmarks/bench_web.py", "--requests", "5"], [], ["POST one-click unsubscribe"]),
    "source": (["benchmarks/bench_source.py"], [], ["fetch a day from the page after a 503"]),
    "monitoring": (
        ["benchmarks/bench_monitoring.py", "--subscribers", "20", "--days", "3"],
        ["--database", "sqlite"],
        ["/metrics"],
    ),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_benchmark_runs_and_prints_its_figures(name: str) -> None:
    script, options, expected = RUNS[name]
    done = subprocess.run(
        [sys.executable, *script, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for line in expected:
        assert line in done.stdout, done.stdout[-2000:]
