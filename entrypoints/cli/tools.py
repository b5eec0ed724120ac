"""`mai tools …`: the tool registry from the command line. `list` shows every version
with its switch; `enable` / `disable` flip a tool's switch in the database, for every
agent and server process (the local operator acts as superuser, like `mai users create`).
Commands run through the CLI runtime (`entrypoints.cli.runtime`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.tools.models import ToolMetadata
from entrypoints.cli.runtime import run_with_container

if TYPE_CHECKING:
    from container import Container

tools_app = typer.Typer(help="Tools: list them, switch them on or off.", no_args_is_help=True)
out = Console()


@tools_app.command("list")
def list_tools(
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
) -> None:
    """Every version of every tool, with its category, switch and source."""

    async def work(container: Container) -> list[ToolMetadata]:
        return await container.tools().all(category)

    table = Table("name", "version", "category", "enabled", "approval", "source", "description")
    for m in run_with_container(work):
        table.add_row(
            m.name,
            m.version,
            m.category,
            "yes" if m.enabled else "[red]no[/]",
            "required" if m.requires_approval else "",
            m.source,
            m.description.splitlines()[0] if m.description else "",
        )
    out.print(table)


def _switch(name: str, enabled: bool) -> None:
    async def work(container: Container) -> ToolMetadata:
        return await container.tools().set_enabled(None, name, enabled)

    meta = run_with_container(work)
    out.print(f"{meta.name} is now {'enabled' if meta.enabled else 'disabled'}.")


@tools_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="The tool's name.")]) -> None:
    """Switch a tool on (every version)."""
    _switch(name, True)


@tools_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The tool's name.")]) -> None:
    """Switch a tool off (every version): agents no longer see it."""
    _switch(name, False)
