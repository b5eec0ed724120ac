"""`mai prompts …`: list the prompt templates, render one with `--var name=value`.

A `--var` value is parsed as JSON when it parses (`--var n=3`, `--var tags='["a"]'`), else
taken as a string (`--var user=ada`); quote a JSON string to keep it text (`--var n='"3"'`).
Commands run through the CLI runtime (`entrypoints.cli.runtime`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from domain.errors import ValidationFailed
from entrypoints.cli.runtime import run_with_container

if TYPE_CHECKING:
    from application.prompts import PromptSummary
    from container import Container
    from domain.prompts.models import RenderedPrompt


prompts_app = typer.Typer(help="Prompt templates: list them, render one.", no_args_is_help=True)
out = Console()


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs; a value is JSON when it parses as JSON, else a string."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationFailed(
                f"--var {pair!r} is not name=value.", details={"field": "var", "value": pair}
            )
        try:
            values[name.strip()] = json.loads(raw)
        except ValueError:
            values[name.strip()] = raw
    return values


@prompts_app.command("list")
def list_prompts() -> None:
    """Every prompt: its versions (latest marked), variables and tags."""

    async def work(container: Container) -> list[PromptSummary]:
        found: list[PromptSummary] = container.prompt_manager().all()
        return found

    summaries = run_with_container(work)
    table = Table("name", "versions", "variables", "tags", "description", title="prompts")
    for s in summaries:
        versions = ", ".join(f"[bold]{v}[/]" if v == s.latest else v for v in s.versions)
        variables = ", ".join(
            f"{k}: {v.type}{'' if v.required else '?'}" for k, v in s.variables.items()
        )
        table.add_row(s.name, versions, variables, ", ".join(s.tags), s.description)
    out.print(table)
    if not summaries:
        out.print("[yellow]no prompts (see PROMPTS__DIR)[/]")


@prompts_app.command("render")
def render(
    name: Annotated[str, typer.Argument(help="The prompt's name.")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", "-v", help="name=value (JSON when it parses, else text); repeat."),
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="A pinned version (default: latest).")
    ] = None,
) -> None:
    """Render a prompt to stdout; its name and version go to stderr."""

    async def work(container: Container) -> RenderedPrompt:
        rendered: RenderedPrompt = await container.prompt_manager().render(
            name, parse_vars(var or []), version
        )
        return rendered

    rendered = run_with_container(work)
    typer.echo(rendered.text)
    typer.echo(f"{rendered.name}@{rendered.version}", err=True)
