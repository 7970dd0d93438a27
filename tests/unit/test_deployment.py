"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file
against the Compose Specification's schema (check-jsonschema ships it), the services, the
profile, the health checks, that workers can scale, that every DIGEST_* it sets is a
setting; the Dockerfile parsed with the BuildKit parser: stages, user, what the image runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

from digest.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"DIGEST_{name.upper()}" for name in Settings.model_fields}
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    checked = validate(ROOT / "docker-compose.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The check has teeth: a service with a misspelt key is refused.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml").read_text().replace("    healthcheck:", "    healthchek:", 1)
    )
    assert validate(broken).returncode != 0


def test_the_services_and_the_dev_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "app", "worker", "mailpit"}
    assert services["mailpit"]["profiles"] == ["dev"]
    assert [name for name, service in services.items() if "profiles" in service] == ["mailpit"]
    assert "8025:8025" in services["mailpit"]["ports"]  # Mailpit's web inbox


def test_postgres_is_healthy_before_the_app_and_workers_start(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_app_migrates_then_serves_and_is_checked_on_healthz(compose: dict[str, Any]) -> None:
    app = compose["services"]["app"]
    script = app["command"][-1]
    assert re.fullmatch(r"digest db upgrade && exec digest serve", script)
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert app["ports"] == ["8000:8000"]


def test_workers_scale(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "exec digest worker" in worker["command"][-1]
    # --scale worker=3 needs containers without a fixed name or host port.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["stop_grace_period"]  # time to finish the messages in flight


def test_every_digest_variable_it_sets_is_a_setting(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    set_here = {
        name
        for service in compose["services"].values()
        for name in service.get("environment", {})
        if name.startswith("DIGEST_")
    }
    interpolated = set(re.findall(r"\$\{(DIGEST_[A-Z0-9_]+)", text))
    assert set_here, "the services set no DIGEST_* variable?"
    assert set_here | interpolated <= SETTINGS, (set_here | interpolated) - SETTINGS
    assert "DIGEST_DATABASE_URL" in set_here


def stages() -> list[list[dockerfile.Command]]:
    found: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            found.append([])
        if found:
            found[-1].append(command)
    return found


def test_the_dockerfile_builds_in_a_stage_of_its_own_and_runs_slim_as_a_user() -> None:
    build, final = stages()
    arg = next(c for c in dockerfile.parse_file(str(ROOT / "Dockerfile")) if c.cmd == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.\d+-slim", arg.value[0])
    assert build[0].value == ("${PYTHON_IMAGE}", "AS", "build")
    assert final[0].value == ("${PYTHON_IMAGE}",)
    final_commands = {command.cmd for command in final}
    assert ("--from=build",) in [c.flags for c in final if c.cmd == "COPY"]
    [user] = [c.value[0] for c in final if c.cmd == "USER"]
    assert user not in ("root", "0")
    # No build tools in the image: the final stage installs nothing and copies no source.
    run_lines = " ".join(" ".join(c.value) for c in final if c.cmd == "RUN")
    assert not re.search(r"apt-get|apk|pip |gcc|build-essential", run_lines), run_lines
    assert {c.value[0] for c in final if c.cmd == "COPY"} == {"/opt/digest"}
    [cmd] = [c for c in final if c.cmd == "CMD"]
    assert cmd.value == ("digest", "serve")
    assert "HEALTHCHECK" not in final_commands  # workers serve no page: compose checks the app


def test_the_dockerfile_sets_only_real_settings() -> None:
    names = {
        token.split("=", 1)[0]
        for command in dockerfile.parse_file(str(ROOT / "Dockerfile"))
        if command.cmd == "ENV"
        for token in command.value[::2]
    }
    digest_names = {name for name in names if name.startswith("DIGEST_")}
    assert digest_names == {"DIGEST_WEB_HOST"}  # listen beyond the container's loopback
    assert digest_names <= SETTINGS
