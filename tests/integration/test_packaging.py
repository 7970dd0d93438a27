"""``pip install .`` ships the templates and migrations inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_templates_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=120,
    )
    [wheel] = tmp_path.glob("paper_digest-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    for template in (ROOT / "templates").rglob("*"):
        if template.is_file():
            assert f"digest/templates/{template.relative_to(ROOT / 'templates')}" in names
    for migration in (ROOT / "migrations").rglob("*.py"):
        assert f"digest/migrations/{migration.relative_to(ROOT / 'migrations')}" in names
    assert any(name.endswith("entry_points.txt") for name in names)

    # Installed from the wheel (not this checkout), the package finds its own copies.
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from digest.resources import resource_dir; print(resource_dir('templates')); "
            "print(resource_dir('migrations'))",
        ],
        env={"PYTHONPATH": str(unpacked)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert probe.stdout.split() == [
        str(unpacked / "digest" / "templates"),
        str(unpacked / "digest" / "migrations"),
    ]
