"""What the deployment tests read: compose.yaml's services, the settings' environment
names, the series the Prometheus registry can expose, and the metric names in a PromQL
expression (tests/unit/test_deployment_*.py)."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

import adapters.observability
from adapters.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("api", "worker", "migrate")
BACKING_SERVICES = ("postgres", "redis", "qdrant")


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


@functools.cache
def compose() -> dict[str, Any]:
    """compose.yaml, parsed once (callers must not change it)."""
    return load_yaml(ROOT / "compose.yaml")


def compose_services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
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


def environment_of(service: dict[str, Any]) -> dict[str, str]:
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
