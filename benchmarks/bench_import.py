"""How long ``digest subscribers import`` takes for a large file (the target: 100,000 rows
in under 30 seconds on SQLite). Prints figures; asserts nothing.

Runs the real ``digest`` program (installed next to this Python) on a fresh SQLite
database in a temporary folder, or on the database given with --database-url
(it must be empty; ``digest db upgrade`` is run first):

    .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--database-url URL]

Each row has one to three queries of one to three words; 10% are paused, 5%
unsubscribed, 30% weekly. Timed: the import into the empty database, the same
import again (every row unchanged), and an export of everyone.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DIGEST = shutil.which("digest", path=str(Path(sys.executable).parent))
WORDS = [
    "transformer",
    "diffusion",
    "robot",
    "manipulation",
    "kernel",
    "GPU",
    "sparse",
    "attention",
    "speculative",
    "decoding",
    "agent",
    "reasoning",
    "vision",
    "language",
    "model",
    "retrieval",
    "quantization",
    "benchmark",
    "reinforcement",
    "learning",
    "graph",
    "neural",
    "network",
    "protein",
    "folding",
    "speech",
]


def write_rows(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["email", "queries", "status", "cadence"])
        for number in range(count):
            queries = "; ".join(
                " ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(rng.randint(1, 3))
            )
            status = rng.choices(["active", "paused", "unsubscribed"], [85, 10, 5])[0]
            cadence = rng.choices(["daily", "weekly"], [70, 30])[0]
            writer.writerow(
                [f"reader{number}@lab{number % 500}.example.org", queries, status, cadence]
            )


def timed(env: dict[str, str], cwd: Path, *args: str) -> tuple[float, str]:
    assert DIGEST, "install the project first: pip install -e ."
    started = time.perf_counter()
    result = subprocess.run(
        [DIGEST, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"digest {' '.join(args)} failed: {result.stderr.strip()}")
    return seconds, result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = options.database_url or f"sqlite:///{work / 'bench.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env["DIGEST_DATABASE_URL"] = url
        file = work / "subscribers.csv"
        write_rows(file, options.rows)
        timed(env, work, "db", "upgrade")

        load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
        print(
            f"database: {url.split('://')[0]}; rows: {options.rows:,}; "
            f"file: {file.stat().st_size / 1e6:.1f} MB; cores: {os.cpu_count()}; "
            f"load average: {load}"
        )
        seconds, summary = timed(env, work, "subscribers", "import", str(file))
        print(f"import into an empty database: {seconds:6.1f} s   ({summary})")
        seconds, summary = timed(env, work, "subscribers", "import", str(file))
        print(f"the same import again:         {seconds:6.1f} s   ({summary})")
        seconds, _ = timed(env, work, "subscribers", "export", str(work / "out.csv"))
        print(f"export of everyone:            {seconds:6.1f} s")


if __name__ == "__main__":
    main()
