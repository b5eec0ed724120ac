"""`AppRuntime`: one running application, entered the same way by the API lifespan, the CLI
and `mai worker`:

    async with AppRuntime(container, pipelines=True, reconcile=True) as runtime:
        ...                            # serve; `await runtime.tasks.drain()` waits for work

Entering opens the container's clients in dependency order (the database, Redis, the LLM
server's HTTP client, the MCP servers, the web fetcher; the embedder and the vector index
unless `memory=False`; the DBOS executor with `pipelines=True` when PIPELINES__EXECUTOR=dbos),
then starts the one task group that owns every piece of background work (the memory written
after a turn, published events, summaries, pipeline runs) and, with `reconcile=True`, the
memory index reconciler in it. Leaving stops the reconciler, lets the work in flight finish
for up to `grace_seconds` (then cancels it: a cancelled summary or episode is logged and
redone or lost, never half-written), and closes the clients in reverse order. A failure
while opening closes what was already open.

A resource is awaited once, when opened, and is a plain value afterwards: every `Resource`
leaves dependency-injector's async mode before opening, so the objects built on it are
plain too (and what a test overrode stays plain, however often the runtime is entered).
"""

from __future__ import annotations

import asyncio
import inspect
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from adapters.background.task_group import BackgroundTaskGroup
from adapters.observability.pools import watch_pools

if TYPE_CHECKING:
    from container import Container

#: How long background work may run on after the application is told to stop.
DRAIN_GRACE_SECONDS = 10.0


class AppRuntime:
    def __init__(
        self,
        container: Container,
        *,
        memory: bool = True,
        pipelines: bool = False,
        reconcile: bool = False,
        grace_seconds: float = DRAIN_GRACE_SECONDS,
    ) -> None:
        """`memory=False` leaves the vector index and the embedder closed: CLI commands that
        do not need them must not take the embedded Qdrant Edge shard, which one process
        (the server) holds; chat then runs without long-term memory."""
        self.container = container
        self._memory = memory
        self._pipelines = pipelines
        self._reconcile = reconcile
        self._grace = grace_seconds
        self._stack: AsyncExitStack | None = None

    @property
    def tasks(self) -> BackgroundTaskGroup:
        """The owner of background work; `await runtime.tasks.drain()` waits for it."""
        tasks: BackgroundTaskGroup = self.container.background_tasks()
        return tasks

    async def open(self) -> None:
        if self._stack is not None:
            raise RuntimeError("This AppRuntime is open already.")
        stack = AsyncExitStack()
        try:
            await self._open(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> AppRuntime:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _open(self, stack: AsyncExitStack) -> None:
        container = self.container
        for resource in container.traverse(types=[providers.Resource]):
            resource.disable_async_mode()
        stack.push_async_callback(_close_the_rest, container)
        infrastructure, tools = container.infrastructure_package, container.tools_package
        clients: list[Any] = [
            infrastructure.database,
            infrastructure.redis_client,
            container.models_package.llm_http,
            tools.mcp_servers,
            tools.web_fetcher,
        ]
        if self._memory:
            clients += [container.embedder, container.memory_index]
        for resource in clients:
            await _open(resource, stack)
        database, redis = infrastructure.database(), infrastructure.redis_client()
        watch_pools(getattr(database, "engine", None), getattr(redis, "redis", None))
        if self._pipelines and container.settings().pipelines.executor == "dbos":
            container.prompt_manager()  # the pipelines' agents, tools and prompts first
            container.agent_catalog()
            await _open(container.dbos_executor, stack)

        tasks = self.tasks
        await tasks.start()
        stack.push_async_callback(tasks.close, self._grace)
        if self._reconcile:  # the index catches up with memories written while it was down
            stop = asyncio.Event()
            reconciler = container.reconcile_index().run_forever(stop=stop)
            tasks.start_service(reconciler, name="memory_reconciler")
            stack.callback(stop.set)


async def _open(resource: Any, stack: AsyncExitStack) -> None:
    """Open `resource` and close it with `stack` (an overridden one is a test's value)."""
    opening = resource.init()
    if inspect.isawaitable(opening):
        await opening
    stack.push_async_callback(_shut_down, resource)


async def _shut_down(resource: Any) -> None:
    closing = resource.shutdown()
    if inspect.isawaitable(closing):
        await closing


async def _close_the_rest(container: Container) -> None:
    """Resources something opened on demand rather than the runtime (closed last)."""
    for resource in container.traverse(types=[providers.Resource]):
        if resource.initialized:
            await _shut_down(resource)
