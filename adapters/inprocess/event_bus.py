"""`EventBus` in one process: a queue per subscriber, per channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class InProcessEventBus:
    def __init__(self, max_queued: int = 1000) -> None:
        self._channels: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._max = max_queued

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        for queue in list(self._channels.get(channel, ())):
            if queue.qsize() < self._max:  # a stuck subscriber loses events, not memory
                queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._channels.setdefault(channel, set()).add(queue)

        async def events() -> AsyncIterator[dict[str, Any]]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            listeners = self._channels.get(channel)
            if listeners is not None:
                listeners.discard(queue)
                if not listeners:
                    del self._channels[channel]
