"""Context assembly on real Redis: load the cached window and fit it to the budget, for
windows of 10/100/1000 messages, against a raw LRANGE of the same key (the floor)."""

from __future__ import annotations

import os
from uuid import uuid4

from adapters.redis import RedisClient
from adapters.redis.window_store import RedisWindowStore
from bench.harness import Row, compare
from domain.conversations.models import Message, Role
from domain.memory.short_term import CachedWindow, ConversationMemory

REDIS_URL = os.environ.get("MAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEXT = "This is a fairly ordinary chat message about plans for the week, with a date 2026-03-14."


async def run() -> list[Row]:
    rows = []
    async with RedisClient.from_url(REDIS_URL) as client:
        store = RedisWindowStore(client)
        for size in (10, 100, 1000):
            cid = uuid4()
            messages = [
                Message(cid, Role.USER if i % 2 == 0 else Role.ASSISTANT, f"{TEXT} #{i}")
                for i in range(size)
            ]
            await store.save(cid, CachedWindow(messages=messages), ttl_seconds=600)
            key = store.key(cid)

            async def assemble(cid: object = cid) -> None:
                window = await store.load(cid)  # type: ignore[arg-type]
                assert window is not None
                ConversationMemory.from_window(window).fit(10, 4000)

            async def raw(key: str = key) -> None:
                await client.redis.lrange(key, 0, -1)

            n = 300 if size < 1000 else 60
            subject, baseline = await compare(assemble, raw, n=n)
            rows.append(
                Row(
                    f"context assembly, {size}-message window (Redis load + fit)",
                    subject,
                    baseline,
                    "raw LRANGE of the same key",
                    "1 round trip; decode + truncate",
                )
            )
            await store.invalidate(cid)
    return rows
