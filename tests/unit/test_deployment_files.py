"""docker-compose.yml is valid and sets only settings that exist."""

from __future__ import annotations

from pathlib import Path

import yaml

from digest.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_sets_only_known_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = {f"DIGEST_{name.upper()}" for name in Settings.model_fields}
    used = {
        name
        for service in compose["services"].values()
        for name in (service.get("environment") or {})
        if name.startswith("DIGEST_")
    }
    assert used, "the app service sets no DIGEST_* variable"
    assert used <= known, used - known
    assert compose["services"]["postgres"]["healthcheck"]["test"]
    assert compose["services"]["app"]["depends_on"]["postgres"]["condition"] == "service_healthy"
