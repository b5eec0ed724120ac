"""`mai eval agent|memory`: score an agent on a dataset, or memory retrieval on a set of
questions; print a table, store the run, exit 1 below the threshold.

Errors (a malformed dataset, an unknown agent or evaluator, a locked index) print one line
through the CLI's one error map before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from application.evals.memory_sets import load_retrieval_set
from domain.errors import MAIError, ValidationFailed
from domain.evals.models import EvalRun
from entrypoints.cli.runtime import container_session, fail

if TYPE_CHECKING:
    from application.evals.datasets import AgentDataset
    from container import Container

eval_app = typer.Typer(help="Evals: score agents on datasets, memory on questions.")
out = Console()
err = Console(stderr=True)


class ModeChoice(StrEnum):
    dense = "dense"
    lexical = "lexical"
    hybrid = "hybrid"
    all = "all"


@dataclass(frozen=True)
class Variant:
    model: str | None
    prompt_version: str | None

    @property
    def label(self) -> str:
        parts = [f"model={self.model}" if self.model else "", f"prompt={self.prompt_version or ''}"]
        return " ".join(p for p in parts if p and p != "prompt=") or "configured"


def parse_variant(text: str, base: Variant) -> Variant:
    key, sep, value = text.partition("=")
    if not sep or not value or key not in ("model", "prompt", "prompt-version"):
        raise ValidationFailed(
            f"--compare {text!r}: write model=MODEL or prompt=VERSION.",
            details={"field": "compare"},
        )
    if key == "model":
        return Variant(value, base.prompt_version)
    return Variant(base.model, value)


def _needs_memory(dataset: AgentDataset) -> bool:
    from application.evals.evaluators import MemoryRecalled

    seeded = any((c.metadata or {}).get("memories") for c in dataset.cases)
    recalls = any(
        isinstance(e, MemoryRecalled)
        for e in [*dataset.evaluators, *(e for c in dataset.cases for e in c.evaluators)]
    )
    return seeded or recalls


async def _judge(container: Container, spec: str | None) -> None:
    """LLMJudge's default model: `local` is the configured LLM server's model."""
    if spec is None:
        return
    from pydantic_evals.evaluators.llm_as_a_judge import set_default_judge_model

    from container import judge_model

    set_default_judge_model(await judge_model(container, spec))


def _check_variants(agent: str, variants: list[Variant]) -> None:
    """Every variant's model resolves and its prompt version exists, before the first case
    of the first variant runs: a bad `--compare` must not leave half a comparison stored."""
    from container import check_eval_model

    for variant in variants:
        if variant.model:
            check_eval_model(variant.model)
    with container_session() as (_runner, container):
        container.run_agent_eval().check(agent, [v.prompt_version for v in variants])


def _run_variant(
    agent: str,
    file: Path,
    dataset: AgentDataset,
    variant: Variant,
    min_score: float | None,
    judge: str | None,
) -> EvalRun:
    from container import pin_chat_model, recording_spans  # loads when a command runs

    with (
        recording_spans(),
        container_session(memory=_needs_memory(dataset)) as (runner, container),
    ):
        if variant.model:
            pin_chat_model(container, variant.model)
        runner.run(_judge(container, judge))
        with Progress(*_columns(), console=err, transient=True) as progress:
            task = progress.add_task(f"{agent} · {variant.label}", total=len(dataset.cases))

            def advance(_case: str) -> None:
                progress.advance(task)

            run: EvalRun = runner.run(
                container.run_agent_eval().execute(
                    dataset,
                    agent,
                    model=variant.model,
                    prompt_version=variant.prompt_version,
                    threshold=min_score,
                    progress=advance,
                )
            )
        run.details["file"] = str(file)
        runner.run(container.eval_runs().record(run))
        return run


def _columns() -> tuple[Any, ...]:
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def _mark(ok: bool) -> str:
    return "[green]✔[/]" if ok else "[red]✗[/]"


def agent_table(run: EvalRun) -> Table:
    table = Table(title=f"{run.dataset} · agent {run.target}", title_justify="left")
    for name in ("case", "score", "checks", "seconds", "output / error"):
        table.add_column(name, justify="right" if name in ("score", "seconds") else "left")
    for case in run.cases:
        checks = [f"{_mark(ok)} {escape(name)}" for name, ok in case.assertions.items()]
        checks += [f"{escape(name)} {value:.2f}" for name, value in case.scores.items()]
        said = f"[red]{escape(case.error)}[/]" if case.error else escape(case.output or "")
        table.add_row(
            escape(case.name),
            f"{case.score:.2f}",
            "\n".join(checks),
            f"{case.duration:.2f}",
            said[:120],
        )
    table.add_section()
    table.add_row("[bold]average[/]", f"[bold]{run.score:.3f}[/]", "", "", "")
    return table


def compare_table(runs: list[tuple[Variant, EvalRun]]) -> Table:
    table = Table(title=f"{runs[0][1].dataset} · agent {runs[0][1].target}", title_justify="left")
    table.add_column("case")
    for variant, _ in runs:
        table.add_column(escape(variant.label), justify="right")
    table.add_column("Δ", justify="right")
    names = [c.name for c in runs[0][1].cases]
    for name in names:
        scores = [next((c.score for c in r.cases if c.name == name), 0.0) for _, r in runs]
        table.add_row(escape(name), *[f"{s:.2f}" for s in scores], f"{scores[-1] - scores[0]:+.2f}")
    table.add_section()
    averages = [r.score for _, r in runs]
    table.add_row(
        "[bold]average[/]",
        *[f"[bold]{a:.3f}[/]" for a in averages],
        f"{averages[-1] - averages[0]:+.3f}",
    )
    return table


def _write_json(path: Path | None, runs: list[EvalRun]) -> None:
    if path is None:
        return
    body = [
        {
            **asdict(r),
            "kind": r.kind.value,
            "id": str(r.id),
            "created_at": r.created_at.isoformat(),
            "passed": r.passed,
        }
        for r in runs
    ]
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")


def _verdict(runs: list[EvalRun], what: str) -> None:
    failed = [r for r in runs if not r.passed]
    for r in failed:
        err.print(
            f"[red]below threshold[/]: {escape(r.dataset)} · {escape(r.target)} "
            f"{what} {r.score:.3f} < {r.threshold}",
            highlight=False,
        )
    if failed:
        raise typer.Exit(1)


JsonOption = Annotated[
    Path | None, typer.Option("--json", help="Also write the run(s) as JSON to this file.")
]


@eval_app.command("agent")
def agent(
    agent_name: Annotated[str, typer.Argument(metavar="AGENT", help="The agent to evaluate.")],
    dataset_file: Annotated[
        Path, typer.Argument(metavar="DATASET", help="A pydantic-evals dataset (YAML or JSON).")
    ],
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", min=0.0, max=1.0, help="Exit 1 when the average is below."),
    ] = None,
    prompt_version: Annotated[
        str | None, typer.Option("--prompt-version", help="Run the agent's prompt at this version.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A Pydantic AI model string; `test` (TestModel) or function:module:callable "
            "(FunctionModel) run offline.",
        ),
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option(
            "--judge-model", help="LLMJudge's model: a Pydantic AI model string, or `local`."
        ),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="Also run model=M or prompt=V on the same dataset, side by side (repeatable).",
        ),
    ] = None,
    json_file: JsonOption = None,
) -> None:
    """Run every case of DATASET through AGENT's real chat turn, score it with the
    dataset's evaluators, print a row per case and the average, store the run."""
    # pydantic_evals is imported by `mai eval agent`, not by every command (issue #15).
    from application.evals.datasets import load_agent_dataset

    try:
        dataset = load_agent_dataset(dataset_file)
        base = Variant(model, prompt_version)
        variants = [base, *(parse_variant(v, base) for v in compare or [])]
        _check_variants(agent_name, variants)
        runs = [
            (v, _run_variant(agent_name, dataset_file, dataset, v, min_score, judge_model))
            for v in variants
        ]
    except MAIError as exc:
        raise fail(exc) from None
    for _, run in runs:
        out.print(agent_table(run))
    if len(runs) > 1:
        out.print(compare_table(runs))
    _write_json(json_file, [r for _, r in runs])
    _verdict([r for _, r in runs], "average")


def memory_table(runs: list[EvalRun]) -> Table:
    first = runs[0]
    title = (
        f"{first.dataset} · {int(first.metrics['questions'])} questions, "
        f"{int(first.metrics['memories'])} memories, k={first.details['k']}"
    )
    table = Table(title=title, title_justify="left")
    names = ("recall@5", "recall@10", "mrr", "ndcg@10", "search_p50_ms", "search_p95_ms")
    table.add_column("mode")
    for name in names:
        table.add_column(
            name.replace("search_", "").replace("_ms", " ms").replace("mrr", "MRR"), justify="right"
        )
    for run in runs:
        m = run.metrics
        table.add_row(
            run.target,
            *[f"{m[n]:.3f}" for n in names[:4]],
            *[f"{m[n]:.1f}" for n in names[4:]],
        )
    return table


@eval_app.command("memory")
def memory(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="LoCoMo JSON, a JSONL of memories and questions, or {memories, questions} JSON.",
        ),
    ],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Results per search.")] = 10,
    mode: Annotated[ModeChoice, typer.Option("--mode", help="Retrieval mode(s).")] = ModeChoice.all,
    min_recall: Annotated[
        float | None,
        typer.Option("--min-recall", min=0.0, max=1.0, help="Exit 1 when recall@10 is below."),
    ] = None,
    conversations: Annotated[
        int | None,
        typer.Option("--conversations", min=1, help="LoCoMo: only the first N conversations."),
    ] = None,
    json_file: JsonOption = None,
) -> None:
    """Ingest FILE's memories into fresh evaluation users through long-term memory, ask its
    questions in each mode, print recall@5/@10, MRR, nDCG@10 and search p50/p95, store
    the runs and remove the users."""
    modes: list[Any] = ["dense", "lexical", "hybrid"] if mode is ModeChoice.all else [mode.value]
    try:
        data = load_retrieval_set(file, conversations)
        with container_session(memory=True) as (runner, container):
            with Progress(*_columns(), console=err, transient=True) as progress:
                task = progress.add_task("ingesting", total=None)

                def advance(phase: str, done: int, total: int) -> None:
                    progress.update(task, description=phase, completed=done, total=total or None)

                runs: list[EvalRun] = runner.run(
                    container.run_memory_eval().execute(
                        data, modes, k=k, threshold=min_recall, progress=advance
                    )
                )
            for run in runs:
                run.details["file"] = str(file)
                runner.run(container.eval_runs().record(run))
    except MAIError as exc:
        raise fail(exc) from None
    out.print(memory_table(runs))
    if data.skipped:
        err.print(f"[dim]{data.skipped} questions skipped (adversarial or no evidence)[/]")
    _write_json(json_file, runs)
    _verdict(runs, "recall@10")
