"""The composition root wires the durable executor: with PIPELINES__EXECUTOR=dbos the
container starts DBOS with the application's scheduler and step runner injected (the
adapter imports neither), and a declared pipeline runs through it end to end, its stage
metrics and events reported from inside the DBOS steps. SQLite system database under
DATA_DIR (the embedded profile's fallback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from adapters.observability.metrics import REGISTRY
from domain.pipelines import RunStatus, StageStatus
from runtime import AppRuntime
from tests.conftest import make_container, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def stage_count(stage: str, status: str) -> float:
    labels = {"pipeline": "fan-out-fan-in", "stage": stage, "status": status}
    return REGISTRY.get_sample_value("mai_pipeline_stages_total", labels) or 0.0


async def test_a_declared_pipeline_runs_on_the_dbos_executor_the_container_opens(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        pipelines={
            "executor": "dbos",
            "dbos": {"app_name": "mai-test-container", "polling_interval": 0.05},
        },
    )
    container = make_container(settings)
    runtime = AppRuntime(container, memory=False, pipelines=True)
    await runtime.open()
    try:
        before = stage_count("report", "succeeded")
        user = uuid4()
        events: list[dict[str, Any]] = []
        pipelines = container.pipelines()
        run = await pipelines.run(user, "fan-out-fan-in", ["a b", "b c d"], wait=True)
        assert run.status is RunStatus.SUCCEEDED, run.error
        assert run.output == {
            "documents": 2,
            "words": 5,
            "counts": {"b": 2, "a": 1, "c": 1, "d": 1},
        }
        assert {r.status for r in run.stages.values()} == {StageStatus.SUCCEEDED}
        assert stage_count("report", "succeeded") == before + 1  # from the injected steps
        async for event in pipelines.follow(user, run.id):  # finished: the record at once
            events.append(event)
        assert [e["type"] for e in events] == ["run_finished"]
        assert events[0]["run"]["status"] == "succeeded"
        assert (tmp_path / "dbos.sqlite").exists()
    finally:
        await runtime.close()
