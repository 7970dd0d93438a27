"""Where the templates and migrations live.

In a source checkout they sit at the top of the repository; an installed wheel
carries them inside the package (see ``force-include`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory ``name`` (``templates`` or ``migrations``)."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name}/ directory is missing from this installation")
