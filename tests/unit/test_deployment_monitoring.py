"""Prometheus and Grafana agree with the code: the dashboard selects only series the
registry exports, Prometheus scrapes the API, Grafana provisions the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.deployment_files import (
    PROMETHEUS_SYNTHETIC,
    ROOT,
    compose_services,
    load_yaml,
    promql_metric_names,
    registered_sample_names,
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return compose_services()


def test_promql_metric_names_parser() -> None:
    expr = (
        'sum by (le, route) (rate(mai_x_bucket{status=~"5..", route!="a b"}[$__rate_interval]))'
        " / on (agent) group_left sum(rate(mai_y_total[5m] offset 1h)) > bool 0.5"
        ' or histogram_quantile(0.95, z_count) and count(up{job="api"} == 1)'
    )
    assert promql_metric_names(expr) == {"mai_x_bucket", "mai_y_total", "z_count", "up"}


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
    config = load_yaml(ROOT / "deploy/prometheus.yml")
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
    datasources = load_yaml(provisioning / "datasources/prometheus.yml")["datasources"]
    assert any(
        d["type"] == "prometheus" and d["url"] == "http://prometheus:9090" for d in datasources
    )
    providers = load_yaml(provisioning / "dashboards/mai.yml")["providers"]
    paths = {p["options"]["path"] for p in providers}
    mounts = [str(v).split(":") for v in services["grafana"]["volumes"]]
    targets = {target for source, target, *_ in mounts}
    assert ["./deploy/grafana/provisioning", "/etc/grafana/provisioning", "ro"] in mounts
    dashboard_targets = [
        target for source, target, *_ in mounts if source == "./deploy/grafana/mai-dashboard.json"
    ]
    assert dashboard_targets, "the dashboard is not mounted"
    assert any(str(Path(t).parent) in paths for t in dashboard_targets), (paths, targets)
