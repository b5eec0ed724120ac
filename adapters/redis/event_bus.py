"""`EventBus` on Redis pub/sub: what one server process publishes, every process's
subscribers receive (chat streams and pipeline progress across a scaled-out API)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from adapters.redis.client import RedisClient


class RedisEventBus:
    def __init__(self, client: RedisClient) -> None:
        self._client = client

    def _channel(self, channel: str) -> str:
        return self._client.key("events", channel)

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        async with self._client.guard("events.publish"):
            await self._client.redis.publish(self._channel(channel), json.dumps(event, default=str))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self._client.redis.pubsub(ignore_subscribe_messages=True)
        name = self._channel(channel)
        async with self._client.guard("events.subscribe"):
            await pubsub.subscribe(name)

        async def events() -> AsyncIterator[dict[str, Any]]:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield json.loads(message["data"])

        try:
            yield events()
        finally:
            try:
                await pubsub.unsubscribe(name)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
