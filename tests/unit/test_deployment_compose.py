"""compose.yaml agrees with the code: every service, pinned images, environment names that
are settings and values that load, commands, health checks, volumes (no Docker needed)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from adapters.settings import Settings
from tests.unit.deployment_files import (
    APP_SERVICES,
    BACKING_SERVICES,
    ROOT,
    compose,
    compose_services,
    environment_of,
    setting_env_names,
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return compose_services()


def test_setting_env_names_walk_nested_models() -> None:
    names = setting_env_names()
    assert {"DATABASE__URL", "JWT__SECRET_KEY", "LM_STUDIO__BASE_URL", "DATA_DIR"} <= names
    assert "DATABASE__NOPE" not in names


def test_compose_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    expected = {*APP_SERVICES, *BACKING_SERVICES, "prometheus", "grafana"}
    assert expected <= set(services), f"missing: {expected - set(services)}"


def test_compose_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name}: neither image nor build"
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["postgres"]["image"].endswith("-pg16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:v1.")


def test_app_services_share_the_built_image(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, images
    for name in APP_SERVICES:
        assert services[name].get("build") in (".", {"context": "."}), name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_names_are_settings(services: dict[str, dict[str, Any]], name: str) -> None:
    valid = setting_env_names()
    env = environment_of(services[name])
    unknown = sorted(key for key in env if key.upper() not in valid)
    assert not unknown, f"{name}: not settings of adapters/settings.py: {unknown}"


def test_app_environment_is_the_production_profile(
    services: dict[str, dict[str, Any]],
) -> None:
    env = {k.upper(): v for k, v in environment_of(services["api"]).items()}
    assert env["ENVIRONMENT"] == "production"
    assert env["DATABASE__URL"].startswith("postgresql+asyncpg://")
    assert env["DATABASE__URL"].endswith("@postgres:5432/mai")
    assert env["REDIS__URL"] == "redis://redis:6379/0"
    assert env["QDRANT__URL"] == "http://qdrant:6333"
    assert "MEMORY__VECTOR_BACKEND" in env
    assert "host.docker.internal:1234/v1" in env["LM_STUDIO__BASE_URL"]
    # A required value: compose refuses to start without it rather than run keyless.
    assert re.fullmatch(r"\$\{JWT__SECRET_KEY:\?[^}]+\}", env["JWT__SECRET_KEY"])
    for name in APP_SERVICES:
        hosts = services[name].get("extra_hosts") or []
        assert "host.docker.internal:host-gateway" in hosts, name


def _interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` as its default, `${NAME:?error}` as a sample value."""

    def one(match: re.Match[str]) -> str:
        if match.group(2) == "?":
            return "x" * 48  # a required secret: any 32+ characters
        return match.group(3) or ""

    return re.sub(r"\$\{(\w+)(?::?([-?]))?([^}]*)\}", one, value)


def test_app_environment_values_load(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings accept the compose values (with the defaults compose substitutes)."""
    env = {k.upper(): _interpolate(v) for k, v in environment_of(services["api"]).items()}
    for name in setting_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.profile == "production"
    assert settings.environment == "production"
    assert settings.jwt.secret_key.get_secret_value() == "x" * 48
    assert settings.memory.vector_backend in ("qdrant", "pgvector")
    assert settings.database.url == "postgresql+asyncpg://mai:mai@postgres:5432/mai"


def test_app_commands(services: dict[str, dict[str, Any]]) -> None:
    def argv(name: str) -> list[str]:
        command = services[name]["command"]
        return shlex.split(command) if isinstance(command, str) else list(command)

    assert argv("migrate") == ["mai", "db", "upgrade"]
    assert argv("api")[:2] == ["mai", "serve"]
    assert argv("worker")[:1] == ["mai"]
    assert services["migrate"].get("restart", "no") == "no"


@pytest.mark.parametrize("name", ["api", *BACKING_SERVICES])
def test_healthchecks(services: dict[str, dict[str, Any]], name: str) -> None:
    check = services[name].get("healthcheck") or {}
    assert not check.get("disable"), name
    test = check.get("test")
    assert test, f"{name}: no healthcheck test"
    text = " ".join(test) if isinstance(test, list) else test
    expected = {
        "api": "/health",
        "postgres": "pg_isready",
        "redis": "redis-cli ping",
        "qdrant": "/dev/tcp/127.0.0.1/6333",
    }[name]
    assert expected in text, f"{name}: {text!r}"
    if name in ("api", "qdrant"):  # python:3.11-slim and qdrant's image ship neither
        assert "curl" not in text and "wget" not in text, f"{name}: {text!r}"


@pytest.mark.parametrize("name", ["api", "worker"])
def test_depends_on_conditions(services: dict[str, dict[str, Any]], name: str) -> None:
    depends = services[name]["depends_on"]
    assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
    for backing in BACKING_SERVICES:
        assert depends[backing]["condition"] == "service_healthy", (name, backing)
    assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_migrate_waits_for_postgres(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_volumes_are_named_and_declared(
    services: dict[str, dict[str, Any]],
) -> None:
    declared = set(compose().get("volumes") or {})
    used: set[str] = set()
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source.startswith((".", "/", "~")):  # a bind mount (configuration files)
                assert source.startswith("./deploy/"), f"{name}: binds {source}"
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
                continue
            assert source in declared, f"{name}: volume {source!r} is not declared"
            used.add(source)
    for name in ("postgres", "qdrant"):
        assert any(
            not str(v).startswith((".", "/")) for v in services[name].get("volumes") or []
        ), f"{name}: its data must live in a named volume"
    assert used == declared, f"declared but unused: {declared - used}"


def test_monitoring_services_are_in_a_profile(services: dict[str, dict[str, Any]]) -> None:
    for name in ("prometheus", "grafana"):
        assert services[name].get("profiles") == ["monitoring"], name
    for name in (*APP_SERVICES, *BACKING_SERVICES):
        assert "profiles" not in services[name], f"{name} must start by default"
