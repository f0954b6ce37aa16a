"""The Dockerfile and compose.yaml start the production shape: the compose file is valid (the
Compose Specification's schema, and ``docker compose config`` where docker has compose), and
both name only what the service really has (files, commands, routes, settings)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"


def compose() -> dict:  # type: ignore[type-arg]
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_compose_file_is_valid_by_the_compose_specification() -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_accepts_the_file_where_it_is_installed() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode:
        pytest.skip("docker compose is not installed here; the schema check above still ran")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_service_the_scheduler_postgres_and_redis_in_order() -> None:
    services = compose()["services"]
    assert {"web", "scheduler", "postgres", "redis", "schema"} <= services.keys()
    assert services["schema"]["command"] == ["flask", "--app", "app", "init-db"]
    assert services["scheduler"]["command"] == ["python", "scheduler.py"]
    for name in ("web", "scheduler"):
        assert services[name]["depends_on"]["schema"]["condition"] == "service_completed_successfully"
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert environment["RATE_LIMIT_STORAGE_URI"].startswith("redis://redis:")
        assert len(environment["JWT_SECRET"]) >= 32  # every process verifies the same tokens
    assert services["web"]["ports"] == ["8000:8000"]
    readme = (ROOT / "README.md").read_text()
    for variable in {v for s in services.values() for v in (s.get("environment") or {})}:
        if not variable.startswith("POSTGRES_"):
            assert f"`{variable}`" in readme, f"{variable} is not documented in the README"


def test_the_dockerfile_copies_what_exists_and_serves_with_the_gunicorn_settings() -> None:
    text = DOCKERFILE.read_text()
    for line in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        for source in line.split():
            assert (ROOT / source).exists(), source
    assert '"-c", "python:ordering.http.gunicorn_config"' in text and '"app:app"' in text
    assert "/health/live" in text and "USER " in text
    assert (ROOT / "ordering" / "http" / "gunicorn_config.py").exists()
