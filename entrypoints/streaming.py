"""Helpers every transport shares to relay a streamed chat turn.

`relay()` runs the use-case's event stream in a task of its own. Why: transports stop a
stream by cancelling the consumer when the client goes away, and under AnyIO (which
sse-starlette uses) a cancelled scope cancels *every* later `await` in it, including the
use-case's own clean-up that marks the user's message failed. In a separate task the
stream gets exactly one cancellation (or an `aclose()`), so that clean-up completes, and
the consumer waits for it, shielded, before it lets go.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

import anyio
from pydantic_core import to_jsonable_python

#: How long a consumer that is going away waits for the turn to record its failure.
CLEANUP_SECONDS = 10.0

_END = object()
EventT = TypeVar("EventT")


def jsonable(value: Any) -> Any:
    """An agent's output (text, a Pydantic model, anything) as plain JSON data."""
    return to_jsonable_python(value, fallback=str)


async def relay(stream: AsyncIterator[EventT]) -> AsyncGenerator[EventT, None]:
    """Yield the events of `stream`; if the consumer stops early, close the turn cleanly."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async for event in stream:
                await queue.put(event)
        except Exception as exc:  # a bug in the stream: re-raised in the consumer
            await queue.put(exc)
            return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()  # a no-op once exhausted; otherwise runs its clean-up
        await queue.put(_END)

    task = asyncio.create_task(pump())
    finished = False
    try:
        while True:
            item = await queue.get()
            if item is _END:
                finished = True
                return
            if isinstance(item, Exception):
                finished = True
                raise item
            yield item
    finally:
        if not finished:
            task.cancel()
        with anyio.move_on_after(CLEANUP_SECONDS, shield=True):
            await asyncio.wait({task})
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()  # retrieved, so asyncio does not log it as unhandled
