"""The durable run: one DBOS workflow per pipeline run, one DBOS step per stage.

A step's result is checkpointed in DBOS's system database when it returns, so a workflow
resumed after a crash replays finished stages from their checkpoints and runs only the
rest. Stage failures are results (the step runner never raises them), so a failed stage
is checkpointed like a succeeded one and is not retried by recovery either.

The workflow holds no scheduling of its own: it runs the application's scheduler (the
one the in-process executor runs, injected through `WorkerRuntime`) with the durable
step runner (`steps.DurableStepRunner`). DBOS recognises a step on replay by its position
in the workflow (with its name checked), so steps must start in the same order every
time: the durable step runner asks for waves (`ordered_replay`), so stages run layer by
layer, a layer's stages in declaration order, at most `max_concurrency` at a time in
fixed batches (one at a time in `sequential` mode). `dag` mode runs like `parallel` here:
a stage may wait for an unrelated, slower stage of the previous layer, the price of a
deterministic step order.

Inside a stage's step, the direct step runner does what it does in process: attempts,
`retry` backoff (RETRYING events and `attempts` are reported as in process; a crash
mid-retry restarts the stage's attempts), timeouts and the results cache. Events are
written to the run's DBOS stream (`EVENTS_STREAM`) so a caller in any process can follow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from dbos import DBOS

from adapters.dbos.steps import (
    EVENTS_STREAM,
    STORE_STEP,
    DurableStepRunner,
    current_runtime,
    save_finished,
    save_started,
    step,
)
from domain.pipelines.runs import PipelineRun

__all__ = ["WORKFLOW_NAME", "pipeline_workflow"]

WORKFLOW_NAME = "mai.pipelines.run"


@DBOS.workflow(name=WORKFLOW_NAME)
async def pipeline_workflow(
    pipeline_name: str,
    run_id: str,
    user_id: str,
    input: Any,
    created_at: datetime,
    stream_events: bool,
) -> PipelineRun:
    """Run the registered pipeline `pipeline_name`; the workflow id is `run_id`."""
    rt = current_runtime()
    pipeline = rt.catalog.get(pipeline_name)
    run = PipelineRun(pipeline.name, UUID(user_id), input, id=UUID(run_id), created_at=created_at)
    run.start(await step(STORE_STEP, "run:start", save_started, rt, run))
    await rt.scheduler(pipeline, run, DurableStepRunner(rt, pipeline, run, stream_events))
    done = await step(STORE_STEP, "run:finish", save_finished, rt, pipeline, run)
    if stream_events:
        await DBOS.close_stream_async(EVENTS_STREAM)
    return done
