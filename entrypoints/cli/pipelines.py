"""`mai pipelines …`: list the declared pipelines, run one with a live view of its stages,
show a run. Runs belong to a user (`--user`), as they do over the API. Commands run
through the CLI runtime (`entrypoints.cli.runtime`), the pipeline executor started."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from domain.errors import ValidationFailed
from domain.pipelines.runs import PipelineRun
from entrypoints.cli.runtime import fail, owner_id, run_with_container

if TYPE_CHECKING:
    from container import Container

pipelines_app = typer.Typer(help="Pipelines: list, run (live), show a run.", no_args_is_help=True)
out = Console()
UserOption = Annotated[str, typer.Option("--user", "-u", help="The user who owns the run.")]
STYLE = {"succeeded": "green", "cached": "cyan", "failed": "red", "running": "yellow"}


@pipelines_app.command("list")
def list_pipelines() -> None:
    """Every declared pipeline: its mode, stages and output."""

    async def work(container: Container) -> list[dict[str, Any]]:
        return [p.to_dict() for p in container.pipelines().all()]

    table = Table()
    table.add_column("name", no_wrap=True)
    for column in ("mode", "errors", "stages", "output", "description"):
        table.add_column(column)
    for p in run_with_container(work, pipelines=True):
        stages = " → ".join(",".join(layer) for layer in p["layers"])
        table.add_row(
            p["name"], p["mode"], p["error_strategy"], stages, p["output"], p["description"]
        )
    out.print(table)


def _stages_table(name: str, status: dict[str, str], run_status: str) -> Table:
    table = Table("stage", "status", title=f"{name}: {run_status}")
    for stage, state in status.items():
        table.add_row(stage, f"[{STYLE.get(state, 'white')}]{state}[/]")
    return table


@pipelines_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="The pipeline.")],
    user: UserOption,
    input: Annotated[str, typer.Option("--input", "-i", help="The input, as JSON or text.")],
) -> None:
    """Run a pipeline, showing each stage's progress live; prints the output as JSON."""
    try:
        value: Any = json.loads(input)
    except json.JSONDecodeError:
        value = input

    async def work(container: Container) -> PipelineRun:
        pipelines = container.pipelines()
        user_id = await owner_id(container, user)
        stages = {s.name: "pending" for s in pipelines.get(name).stages}
        started = await pipelines.run(user_id, name, value, wait=False)
        with Live(_stages_table(name, stages, "running"), console=out) as live:
            async for event in pipelines.follow(user_id, started.id):
                if event.get("type") == "run_finished":
                    for stage, result in event["run"]["stages"].items():
                        stages[stage] = result["status"]
                    live.update(_stages_table(name, stages, event["run"]["status"]))
                    break
                stages[event["stage"]] = event["status"]
                live.update(_stages_table(name, stages, "running"))
        return await pipelines.get_run(user_id, started.id)

    finished = run_with_container(work, pipelines=True)
    out.print_json(json.dumps(finished.to_dict()["output"], default=str))
    if finished.status.value != "succeeded":
        out.print(f"[red]run {finished.id} {finished.status.value}[/]: {finished.error}")
        raise typer.Exit(1)


@pipelines_app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="The run's id.")], user: UserOption) -> None:
    """A run's status, stages and output."""
    try:
        rid = UUID(run_id)
    except ValueError:
        raise fail(ValidationFailed("Not a run id.", details={"id": run_id})) from None

    async def work(container: Container) -> PipelineRun:
        return await container.pipelines().get_run(await owner_id(container, user), rid)

    found = run_with_container(work, pipelines=True).to_dict()
    out.print(
        _stages_table(
            found["pipeline"], {k: v["status"] for k, v in found["stages"].items()}, found["status"]
        )
    )
    out.print_json(json.dumps(found["output"], default=str))
