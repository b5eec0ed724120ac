"""`mai`: the command line. Errors print one line and exit non-zero, never a traceback."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from domain.errors import MAIError
from entrypoints.cli.evals import eval_app
from entrypoints.cli.keys import keys_app
from entrypoints.cli.memory import memory_app
from entrypoints.cli.pipelines import pipelines_app
from entrypoints.cli.prompts import prompts_app
from entrypoints.cli.runtime import (
    EXIT_CODES,
    build_container,
    container_session,
    fail,
    report,
    run_with_container,
)
from entrypoints.cli.tools import tools_app

if TYPE_CHECKING:
    from container import Container
    from domain.identity.models import User
    from entrypoints.cli.chat import ChatSession

app = typer.Typer(
    name="mai",
    help="MAI Framework: agents, memory, tools, prompts and pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # `mai --install-completion` (bash, zsh, fish, PowerShell)
)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(memory_app, name="memory")
app.add_typer(prompts_app, name="prompts")
app.add_typer(tools_app, name="tools")
app.add_typer(pipelines_app, name="pipelines")
app.add_typer(keys_app, name="keys")
app.add_typer(eval_app, name="eval")

out = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            out.print(f"mai {version('mai-framework')}", highlight=False)
        except PackageNotFoundError:  # run from a checkout that is not installed
            out.print("mai (not installed)", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """MAI Framework: agents, memory, tools, prompts and pipelines."""


@app.command()
def worker() -> None:
    """Background work of a scaled-out deployment, until SIGTERM: runs pipelines from the
    shared queue (PIPELINES__EXECUTOR=dbos) and drains the long-term memory outbox into
    the vector index. Run as many as you like, each with its own
    PIPELINES__DBOS__EXECUTOR_ID (the host name by default)."""

    async def work(container: Container) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        settings = container.settings()
        if settings.pipelines.executor == "dbos":
            container.dbos_executor()  # started by the runtime: dequeuing now
            err.print(f"worker: pipelines from queue {settings.pipelines.dbos.queue_name!r}")
        else:
            err.print("worker: PIPELINES__EXECUTOR is in_process, so pipelines run in the API")
        err.print("worker: reconciling the memory index; stop with Ctrl-C or SIGTERM")
        await stop.wait()  # the runtime's reconciler runs meanwhile

    run_with_container(work, memory=True, pipelines=True, reconcile=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default API__HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default API__PORT).")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Start the HTTP server (console, REST, GraphQL, /v1, metrics); once it listens it
    prints where to go and how to make a first account."""
    from entrypoints.cli.serve import run

    try:
        settings = build_container().settings()
    except MAIError as exc:
        raise fail(exc) from None
    run(
        host or settings.api.host,
        port or settings.api.port,
        reload=reload,
        graceful_seconds=round(settings.api.graceful_shutdown_seconds),
    )


@app.command()
def health() -> None:
    """Ask every adapter of the active profile; exit 1 if one the profile needs is down."""

    async def work(container: Container) -> bool:
        readiness = await container.check_readiness().execute()
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
        str,
        typer.Option(
            "--password",
            help="Password (8+ chars, a letter and a digit). Omit it to be asked for it, "
            "hidden, twice.",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
        ),
    ],
    superuser: Annotated[bool, typer.Option("--superuser", help="Grant superuser rights.")] = False,
) -> None:
    """Create a user."""

    async def work(container: Container) -> User:
        user: User = await container.register_user().execute(
            username, email, password, is_superuser=superuser
        )
        return user

    user = run_with_container(work)
    kind = "superuser" if superuser else "user"
    out.print(f"created {kind} {user.username} ({user.id})", highlight=False)


LOCAL_USER_HELP = (
    "Chat as this user. The default, 'local', is created on first use with a random "
    "password (it is meant for the CLI, which runs in-process and needs no token)."
)


@app.command()
def chat(
    message: Annotated[
        str | None,
        typer.Argument(
            help="What to say. Without it: an interactive session at a `you> ` prompt "
            "(an empty line, /exit or Ctrl-D ends it)."
        ),
    ] = None,
    agent: Annotated[str, typer.Option("--agent", "-a", help="The agent to talk to.")] = (
        "assistant"
    ),
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", help="Continue this conversation (its id)."),
    ] = None,
    user: Annotated[str, typer.Option("--user", "-u", help=LOCAL_USER_HELP)] = "local",
) -> None:
    """Chat with an agent, in-process. The reply streams to stdout as it is written; tool
    calls and the conversation id (to continue with --conversation) go to stderr."""
    from entrypoints.cli.chat import ChatSession, parse_conversation

    session: ChatSession | None = None
    try:
        conversation_id = parse_conversation(conversation)
        with container_session() as (runner, container):
            session = ChatSession(container, out, err, agent, conversation_id)
            runner.run(session.start(user))
            if message is None:
                _repl(runner, session)
            else:
                try:
                    runner.run(session.say(message))
                finally:
                    session.show_conversation()
    except MAIError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        err.print("[dim]interrupted[/]")
        raise typer.Exit(130) from None


def _repl(runner: asyncio.Runner, session: ChatSession) -> None:
    """Read-eval-print: one conversation, a turn per line; errors do not end the session."""
    try:
        while True:
            try:
                line = out.input("[bold cyan]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                out.print()
                return
            if not line or line in ("/exit", "/quit"):
                return
            try:
                runner.run(session.say(line))
            except MAIError as exc:
                report(exc)
            except KeyboardInterrupt:
                err.print("[dim]interrupted[/]")
    finally:
        session.show_conversation()


@app.command()
def models() -> None:
    """List the chat models the LLM server offers (LM_STUDIO__BASE_URL)."""

    async def work(container: Container) -> list[str]:
        names: list[str] = await container.model_source().list_models()
        return names

    names = run_with_container(work)
    for name in names:
        out.print(name, highlight=False)
    if not names:
        err.print("[yellow]the LLM server offers no chat model[/]")


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
        report(exc)
        sys.exit(EXIT_CODES.get(exc.code, 1))
    except Exception as exc:  # a bug: still one line, never a traceback
        err.print(
            f"[bold red]error[/] [INTERNAL_ERROR] {type(exc).__name__}: {escape(str(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(70)  # EX_SOFTWARE
