"""How a `mai` command runs: on a container (`build_container`, the seam tests replace),
inside an `AppRuntime` (the same one the API lifespan and `mai worker` enter), with framework
errors printed as one line and an exit code (`fail`: the CLI's one error map).

Every command module imports what it needs from here; `main` only assembles the commands,
so no module of the CLI imports `main`. The container and the runtime are imported when a
command runs, not when the CLI loads: `mai --help` and completion stay instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

from domain.errors import MAIError, NotFound
from domain.identity.models import validate_username

if TYPE_CHECKING:
    from container import Container

T = TypeVar("T")
err = Console(stderr=True)

EXIT_CODES = {
    "AUTHENTICATION_FAILED": 3,
    "PERMISSION_DENIED": 3,
    "NOT_FOUND": 4,
    "PROMPT_NOT_FOUND": 4,
    "PROMPT_INVALID_VARIABLES": 2,
    "PROMPT_RENDER_FAILED": 2,
    "CONFLICT": 5,
    "VALIDATION_FAILED": 2,
    "PAYLOAD_TOO_LARGE": 2,
    "CONFIGURATION_ERROR": 78,
    "SERVICE_UNAVAILABLE": 69,
    "MODEL_UNAVAILABLE": 69,
}


def report(exc: MAIError) -> None:
    """Print a framework error as one line."""
    message = escape(exc.message)
    err.print(f"[bold red]error[/] [{exc.code}] {message}", highlight=False, soft_wrap=True)


def fail(exc: MAIError) -> typer.Exit:
    """The one place the CLI maps framework errors to a message and an exit code."""
    report(exc)
    return typer.Exit(EXIT_CODES.get(exc.code, 1))


def build_container() -> Container:
    """The container every command runs on (tests replace this to swap adapters)."""
    from container import Container

    return Container()


@contextmanager
def container_session(
    *, memory: bool = False, pipelines: bool = False, reconcile: bool = False
) -> Iterator[tuple[asyncio.Runner, Container]]:
    """One event loop with an `AppRuntime` open on the container, for one or many async
    steps (an interactive chat runs a step per line).

    `memory=True` also opens the long-term memory index and embedder; other commands leave
    them closed, so they run beside a server that holds the embedded index. `pipelines`
    starts the DBOS executor when it is the one configured; `reconcile` runs the memory
    index reconciler until the session ends (`mai worker`)."""
    from adapters.observability.logging import configure_logging
    from runtime import AppRuntime

    with asyncio.Runner() as runner:
        container = build_container()
        settings = container.settings()
        configure_logging(
            "WARNING" if settings.log.level == "INFO" else settings.log.level, settings.log.format
        )
        runtime = AppRuntime(container, memory=memory, pipelines=pipelines, reconcile=reconcile)
        runner.run(runtime.open())
        try:
            yield runner, container
        finally:
            runner.run(runtime.close())  # background work (episodes, summaries) ends first


def run_with_container(
    work: Callable[[Container], Coroutine[Any, Any, T]],
    *,
    memory: bool = False,
    pipelines: bool = False,
    reconcile: bool = False,
) -> T:
    """Run one async command in a `container_session`; a framework error exits with it."""
    try:
        with container_session(memory=memory, pipelines=pipelines, reconcile=reconcile) as (
            runner,
            container,
        ):
            return runner.run(work(container))
    except MAIError as exc:
        raise fail(exc) from None


async def user_id_of(container: Container, username: str | None) -> UUID | None:
    """The id of `username` (None: every user); NOT_FOUND if there is no such user."""
    if username is None:
        return None
    name = validate_username(username)
    user = await container.users().get_by_username(name)
    if user is None:
        raise NotFound(f"No user {name!r}.", details={"username": name})
    user_id: UUID = user.id
    return user_id


async def owner_id(container: Container, username: str) -> UUID:
    """The id of the user a command acts for (`--user`); NOT_FOUND if there is none."""
    found = await user_id_of(container, username)
    assert found is not None
    return found
