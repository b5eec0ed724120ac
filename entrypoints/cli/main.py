"""`mai`: the command line. Errors print one line and exit non-zero, never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from domain.errors import MAIError

T = TypeVar("T")

app = typer.Typer(
    name="mai",
    help="MAI Framework: agents, memory, tools, prompts and pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)

EXIT_CODES = {
    "AUTHENTICATION_FAILED": 3,
    "PERMISSION_DENIED": 3,
    "NOT_FOUND": 4,
    "CONFLICT": 5,
    "VALIDATION_FAILED": 2,
    "CONFIGURATION_ERROR": 78,
    "SERVICE_UNAVAILABLE": 69,
    "MODEL_UNAVAILABLE": 69,
}


def fail(exc: MAIError) -> typer.Exit:
    """The one place the CLI maps framework errors to a message and an exit code."""
    err.print(f"[bold red]error[/] [{exc.code}] {exc.message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_CODES.get(exc.code, 1))


def run_with_container(work: Callable[..., Awaitable[T]]) -> T:
    """Open the container's resources around one async command."""
    from adapters.observability.logging import configure_logging
    from container import Container, close_resources, open_resources

    async def runner() -> T:
        container = Container()
        settings = container.settings()
        configure_logging(
            "WARNING" if settings.log.level == "INFO" else settings.log.level, settings.log.format
        )
        await open_resources(container)
        try:
            return await work(container)
        finally:
            await close_resources(container)

    try:
        return asyncio.run(runner())
    except MAIError as exc:
        raise fail(exc) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default API__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default API__PORT).")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Start the HTTP server (REST, GraphQL, metrics)."""
    import uvicorn

    from container import Container

    try:
        settings = Container().settings()
    except MAIError as exc:
        raise fail(exc) from None
    uvicorn.run(
        "entrypoints.rest.app:create_app",
        factory=True,
        host=host or settings.api.host,
        port=port or settings.api.port,
        reload=reload,
        log_config=None,
        proxy_headers=True,
    )


@app.command()
def health() -> None:
    """Ask every adapter of the active profile; exit 1 if one the profile needs is down."""

    async def work(container: object) -> bool:
        readiness = await container.check_readiness().execute()  # type: ignore[attr-defined]
        for a in readiness.adapters:
            mark = (
                "[green]ok[/]"
                if a.ok
                else ("[red]down[/]" if a.required else "[yellow]degraded[/]")
            )
            latency = "" if a.latency_ms is None else f" {a.latency_ms:.1f} ms"
            detail = f" ({a.detail})" if a.detail else ""
            out.print(f"{a.name:<10} {a.backend:<12} {mark}{latency}{detail}", highlight=False)
        return bool(readiness.ready)

    if not run_with_container(work):
        raise typer.Exit(1)


@users_app.command("create")
def users_create(
    username: str,
    email: Annotated[str, typer.Option("--email", help="Email address.")],
    password: Annotated[
        str, typer.Option("--password", help="Password (8+ chars, a letter and a digit).")
    ],
    superuser: Annotated[bool, typer.Option("--superuser", help="Grant superuser rights.")] = False,
) -> None:
    """Create a user."""

    async def work(container: object) -> object:
        return await container.register_user().execute(  # type: ignore[attr-defined]
            username, email, password, is_superuser=superuser
        )

    user = run_with_container(work)
    kind = "superuser" if superuser else "user"
    out.print(f"created {kind} {user.username} ({user.id})", highlight=False)  # type: ignore[attr-defined]


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    _migrate("upgrade", revision)


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")]) -> None:
    """Revert migrations down to REVISION (e.g. base)."""
    _migrate("downgrade", revision)


def _migrate(direction: str, revision: str) -> None:
    from container import migrate_database

    try:
        with out.status(f"{direction} to {revision}…"):
            message = asyncio.run(migrate_database(direction, revision))
    except MAIError as exc:
        raise fail(exc) from None
    out.print(message, highlight=False)


def main() -> None:
    try:
        app()
    except MAIError as exc:  # anything that escaped a command's own handling
        err.print(f"error [{exc.code}] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(1)
