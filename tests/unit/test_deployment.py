"""The deployment artefacts agree with the code: Dockerfile, compose.yaml, Prometheus, Grafana.

No Docker engine is needed: the files are parsed and checked against what the code
declares (the settings model, the Prometheus registry, the packages the wheel ships), so a
renamed setting, a dropped package or a renamed metric fails here rather than in a deploy.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shlex
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import adapters.observability
from adapters.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("api", "worker", "migrate")
BACKING_SERVICES = ("postgres", "redis", "qdrant")

# --------------------------------------------------------------------------- helpers


def _load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml(ROOT / "compose.yaml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _model_type(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (`X`, `X | None`, `Optional[X]`), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if _model_type(a) is not None]
        if len(models) == 1:
            return _model_type(models[0])
    return None


def setting_env_names(model: type[BaseModel] = Settings, prefix: str = "") -> set[str]:
    """Every environment variable the settings read: `A`, and `A__B` for nested models
    (a nested model can also be given whole, as JSON, under its own name)."""
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        name = f"{prefix}{field_name}".upper()
        names.add(name)
        nested = _model_type(field.annotation)
        if nested is not None:
            names |= setting_env_names(nested, f"{name}__")
    return names


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def registered_sample_names() -> set[str]:
    """The series names the code's collectors can expose, from the shared registry.

    Every module of `adapters.observability` is imported first (collectors register on
    import). prometheus_client names a counter's family without `_total`; its samples are
    `_total` (and `_created`); a histogram's are `_bucket`, `_sum` and `_count`."""
    for module in pkgutil.iter_modules(adapters.observability.__path__):
        importlib.import_module(f"{adapters.observability.__name__}.{module.name}")
    from adapters.observability.metrics import REGISTRY

    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
        "gauge": ("",),
        "stateset": ("",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


# Series Prometheus itself adds to every scrape target.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "atan2", "inf", "nan",
    # aggregation operators, which may stand before their `by (…)` clause
    "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "limitk", "limit_ratio",
}  # fmt: skip


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression selects.

    Strings, label matchers, range/subquery brackets, grouping clauses and Grafana variables
    are removed first; of the identifiers left, those not followed by `(` (functions and
    aggregations) and not PromQL keywords are metric names."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+\w*", word):
            continue
        names.add(word)
    return names


def test_promql_metric_names_parser() -> None:
    expr = (
        'sum by (le, route) (rate(mai_x_bucket{status=~"5..", route!="a b"}[$__rate_interval]))'
        " / on (agent) group_left sum(rate(mai_y_total[5m] offset 1h)) > bool 0.5"
        ' or histogram_quantile(0.95, z_count) and count(up{job="api"} == 1)'
    )
    assert promql_metric_names(expr) == {"mai_x_bucket", "mai_y_total", "z_count", "up"}


def test_setting_env_names_walk_nested_models() -> None:
    names = setting_env_names()
    assert {"DATABASE__URL", "JWT__SECRET_KEY", "LM_STUDIO__BASE_URL", "DATA_DIR"} <= names
    assert "DATABASE__NOPE" not in names


# --------------------------------------------------------------------------- compose.yaml


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
    env = _environment(services[name])
    unknown = sorted(key for key in env if key.upper() not in valid)
    assert not unknown, f"{name}: not settings of adapters/settings.py: {unknown}"


def test_app_environment_is_the_production_profile(
    services: dict[str, dict[str, Any]],
) -> None:
    env = {k.upper(): v for k, v in _environment(services["api"]).items()}
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
    env = {k.upper(): _interpolate(v) for k, v in _environment(services["api"]).items()}
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
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
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


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends in a continuation"
    result = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, args in _dockerfile_instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, args))
    return stages


def _global_args() -> dict[str, str]:
    result = {}
    for instruction, args in _dockerfile_instructions():
        if instruction == "FROM":
            break
        if instruction == "ARG" and "=" in args:
            key, value = args.split("=", 1)
            result[key] = value
    return result


def _required_runtime_paths() -> list[str]:
    """What the application needs at run time: what the wheel ships, plus the files read
    from the working directory (agent/prompt/pipeline definitions, alembic.ini)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]
    required = [*shipped, "config", "alembic.ini", "pyproject.toml"]
    for must in ("domain", "application", "adapters", "entrypoints", "container.py"):
        assert must in required, must
    return required


def test_dockerfile_is_multi_stage() -> None:
    stages = _stages()
    assert len(stages) >= 2
    named = [args for stage in stages for instruction, args in stage if instruction == "FROM"]
    assert all(re.search(r"\sAS\s+\w+$", f, re.IGNORECASE) for f in named), named
    base = named[-1].split()[0]
    for key, value in _global_args().items():
        base = base.replace(f"${{{key}}}", value)
    assert base == "python:3.11-slim", base
    builder = " ".join(args for instruction, args in stages[0] if instruction == "RUN")
    assert "uv sync --frozen --no-dev" in builder


def test_dockerfile_runtime_stage() -> None:
    runtime = _stages()[-1]
    instructions = dict(runtime)
    user = instructions.get("USER", "")
    assert user and user.split(":")[0] not in ("root", "0"), f"USER {user!r}"
    assert "/health" in instructions.get("HEALTHCHECK", ""), "no HEALTHCHECK on /health"
    assert "urllib" in instructions["HEALTHCHECK"]
    assert "8000" in instructions.get("EXPOSE", "").split()
    assert json.loads(instructions["CMD"]) == [
        "mai", "serve", "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip
    copied = [args for instruction, args in runtime if instruction == "COPY"]
    assert any("--from=builder" in args and "/app/.venv" in args for args in copied)


def test_dockerfile_copies_every_runtime_package() -> None:
    sources: set[str] = set()
    for instruction, args in _stages()[-1]:
        if instruction == "COPY" and "--from=" not in args:
            parts = [p for p in args.split() if not p.startswith("--")]
            sources |= {p.rstrip("/") for p in parts[:-1]}
    missing = [path for path in _required_runtime_paths() if path not in sources]
    assert not missing, f"the runtime stage does not copy {missing}"
    for path in sources:
        assert (ROOT / path).exists(), f"COPY {path}: no such file"


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for path in [*_required_runtime_paths(), "uv.lock", "README.md"]:
        assert path not in ignored, f".dockerignore drops {path}"
    for secret in (".env", ".venv", ".mai", ".git"):
        assert secret in ignored, f".dockerignore must drop {secret}"


# --------------------------------------------------------------------------- monitoring


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROOT / "deploy/grafana/mai-dashboard.json").read_text(encoding="utf-8")
    )
    return data


def _exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for panel in dashboard["panels"]:
        for child in [panel, *panel.get("panels", [])]:
            found += [(child["title"], t["expr"]) for t in child.get("targets", []) if "expr" in t]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            text = query["query"] if isinstance(query, dict) else query
            found.append(
                (f"${variable['name']}", re.sub(r"label_values\((.*),\s*\w+\)", r"\1", text))
            )
    return found


def test_dashboard_shape(dashboard: dict[str, Any]) -> None:
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


def test_dashboard_uses_only_exported_metrics(dashboard: dict[str, Any]) -> None:
    exported = registered_sample_names()
    assert "mai_http_requests_total" in exported
    used: set[str] = set()
    for title, expr in _exprs(dashboard):
        names = promql_metric_names(expr)
        assert names, f"{title}: no metric in {expr!r}"
        unknown = names - exported - PROMETHEUS_SYNTHETIC
        assert not unknown, f"{title}: {sorted(unknown)} are not exported by the code"
        used |= names
    # The headline families are on the dashboard.
    for family in (
        "mai_http_requests_total",
        "mai_http_request_duration_seconds_bucket",
        "mai_errors_total",
        "mai_agent_turn_duration_seconds_bucket",
        "mai_agent_time_to_first_token_seconds_bucket",
        "mai_agent_tokens_total",
        "mai_tool_calls_total",
        "mai_tool_call_duration_seconds_bucket",
        "mai_tool_cache_hits_total",
    ):
        assert family in used, f"no panel shows {family}"


def test_prometheus_scrapes_the_api(services: dict[str, dict[str, Any]]) -> None:
    config = _load_yaml(ROOT / "deploy/prometheus.yml")
    jobs = config["scrape_configs"]
    api = [job for job in jobs if job.get("metrics_path", "/metrics") == "/metrics"]
    assert api, "no job scrapes /metrics"
    targets = json.dumps(api)
    assert '"api"' in targets or '"api:8000"' in targets, targets
    assert "8000" in targets
    mounts = " ".join(services["prometheus"]["volumes"])
    assert "./deploy/prometheus.yml:" in mounts


def test_grafana_provisions_the_dashboard(services: dict[str, dict[str, Any]]) -> None:
    provisioning = ROOT / "deploy/grafana/provisioning"
    datasources = _load_yaml(provisioning / "datasources/prometheus.yml")["datasources"]
    assert any(
        d["type"] == "prometheus" and d["url"] == "http://prometheus:9090" for d in datasources
    )
    providers = _load_yaml(provisioning / "dashboards/mai.yml")["providers"]
    paths = {p["options"]["path"] for p in providers}
    mounts = [str(v).split(":") for v in services["grafana"]["volumes"]]
    targets = {target for source, target, *_ in mounts}
    assert ["./deploy/grafana/provisioning", "/etc/grafana/provisioning", "ro"] in mounts
    dashboard_targets = [
        target for source, target, *_ in mounts if source == "./deploy/grafana/mai-dashboard.json"
    ]
    assert dashboard_targets, "the dashboard is not mounted"
    assert any(str(Path(t).parent) in paths for t in dashboard_targets), (paths, targets)
