"""`BackgroundTaskGroup`: every piece of background work of one running application in one
`asyncio.TaskGroup`, so shutdown sees all of it and tests can wait for it.

`AppRuntime` starts the group when it opens and closes it when it closes: it waits up to a
grace period for what is in flight, then cancels what is left, and the group's exit waits
for the cancelled tasks to finish their clean-up. Work that fails is logged here and never
takes the group (or the task that started it) down: a background failure is an outage or a
bug to see in the logs, not a reason to stop serving. Long-running services (the memory
index reconciler) run in the same group but are not work `drain` waits for; their owner
tells them to stop before closing the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import structlog

from domain.errors import MAIError

T = TypeVar("T")
log = structlog.get_logger("mai.background")


class BackgroundTaskGroup:
    def __init__(self) -> None:
        self._stack: AsyncExitStack | None = None
        self._group: asyncio.TaskGroup | None = None
        self._work: set[asyncio.Task[None]] = set()  # what `drain` waits for
        self._services: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._group is not None

    @property
    def pending(self) -> list[str]:
        """The names of the work and services not finished yet."""
        return sorted(task.get_name() for task in self._work | self._services)

    async def start(self) -> None:
        if self._group is not None:
            raise RuntimeError("The background task group is already running.")
        stack = AsyncExitStack()
        self._group = await stack.enter_async_context(asyncio.TaskGroup())
        self._stack = stack

    def spawn(self, work: Coroutine[Any, Any, T], *, name: str) -> asyncio.Future[T]:
        group = self._running_group(work, name)
        outcome: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._keep(self._work, group.create_task(_run(work, name, outcome), name=name))
        return outcome

    def start_service(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run `work` until it returns; its owner tells it to stop before `close`."""
        group = self._running_group(work, name)
        self._keep(self._services, group.create_task(_run(work, name, None), name=name))

    async def drain(self) -> None:
        while self._work:
            await asyncio.wait(set(self._work))

    async def close(self, grace_seconds: float) -> None:
        """Let the work and services in flight end for up to `grace_seconds`, cancel the
        rest, then wait for every task of the group to end. Nothing can be spawned after."""
        stack, self._stack = self._stack, None
        if stack is None:
            return
        try:
            async with asyncio.timeout(grace_seconds):
                while self._work or self._services:
                    await asyncio.wait(self._work | self._services)
        except TimeoutError:
            log.warning("background_work_cancelled", tasks=self.pending, grace=grace_seconds)
        finally:
            for task in self._work | self._services:  # left after the grace (or close cancelled)
                task.cancel()
            self._group = None
            await stack.aclose()

    def _running_group(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.TaskGroup:
        if self._group is None:
            work.close()
            raise RuntimeError(
                f"Background work {name!r} needs a running application (enter AppRuntime)."
            )
        return self._group

    @staticmethod
    def _keep(tasks: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _run(work: Coroutine[Any, Any, T], name: str, outcome: asyncio.Future[T] | None) -> None:
    """Await `work`, hand its result or error to `outcome`, and log a failure (never
    re-raised: the task group would cancel everything, and the task that started it)."""
    try:
        result = await work
    except asyncio.CancelledError:
        if outcome is not None:
            outcome.cancel()
        raise
    except Exception as exc:
        if isinstance(exc, MAIError):
            log.warning("background_work_failed", task=name, code=exc.code)
        else:
            log.exception("background_work_crashed", task=name)
        if outcome is not None and not outcome.done():
            outcome.set_exception(exc)
            outcome.exception()  # logged above: asyncio need not report it again
    else:
        if outcome is not None and not outcome.done():
            outcome.set_result(result)
