"""`ConversationWindowStore` on Redis: one key, one round trip per operation.

The window of a conversation is ONE list at `MAI:session:window:{conversation_id}`:
item 0 is a header (format version, summary, how many messages it covers), then the
messages, oldest first. One key rather than a list plus a hash because:

- `load` is a single plain LRANGE (no script, one round trip);
- header and messages share one TTL and one existence: no instant where one has
  expired and the other not, so a partial window cannot be read;
- a window with no messages still exists (the header), so "empty" differs from "miss";
- it is cluster-safe without hash tags.

`append` is a Lua script (atomic, one round trip): it only touches an existing window,
pushes, trims to the newest `max_messages` while keeping the header, and resets the TTL.
`save` is one MULTI/EXEC (DEL, RPUSH header + messages, PEXPIRE). Every Redis error is
reported as `CacheUnavailable`; an unreadable window is a miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from adapters.redis.client import RedisClient
from adapters.redis.keys import KeyKind
from adapters.redis.window_codec import (
    UnreadableWindow,
    decode_window,
    encode_header,
    encode_message,
)
from domain.conversations.models import Message
from domain.memory.window import CachedWindow

# KEYS[1] the window; ARGV[1] max_messages, ARGV[2] ttl in ms, ARGV[3..] encoded messages.
APPEND_SCRIPT = """
local header = redis.call('LINDEX', KEYS[1], 0)
if not header then return 0 end
for i = 3, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local max = tonumber(ARGV[1])
local size = redis.call('LLEN', KEYS[1])
if size - 1 > max then
  redis.call('LTRIM', KEYS[1], size - max, -1)
  redis.call('LPUSH', KEYS[1], header)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class RedisWindowStore:
    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._append = client.redis.register_script(APPEND_SCRIPT)

    def key(self, conversation_id: UUID) -> str:
        return self._client.key(KeyKind.SESSION, "window", conversation_id)

    async def load(self, conversation_id: UUID) -> CachedWindow | None:
        async with self._client.guard("window.load", any_redis_error=True):
            items = await self._client.redis.lrange(self.key(conversation_id), 0, -1)
        try:
            return decode_window(items)
        except UnreadableWindow:
            return None

    async def save(self, conversation_id: UUID, window: CachedWindow, ttl_seconds: int) -> None:
        ttl_ms = _ttl_ms(ttl_seconds)
        key = self.key(conversation_id)
        items = [encode_header(window), *(encode_message(m) for m in window.messages)]
        guard = self._client.guard("window.save", any_redis_error=True)
        async with guard, self._client.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.rpush(key, *items)
            pipe.pexpire(key, ttl_ms)
            await pipe.execute()

    async def append(
        self,
        conversation_id: UUID,
        messages: Sequence[Message],
        max_messages: int,
        ttl_seconds: int,
    ) -> bool:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        args: list[int | bytes] = [max_messages, _ttl_ms(ttl_seconds)]
        args.extend(encode_message(m) for m in messages)
        async with self._client.guard("window.append", any_redis_error=True):
            applied = await self._append(keys=[self.key(conversation_id)], args=args)
        return bool(applied)

    async def invalidate(self, conversation_id: UUID) -> None:
        async with self._client.guard("window.invalidate", any_redis_error=True):
            await self._client.redis.delete(self.key(conversation_id))

    async def ttl_remaining(self, conversation_id: UUID) -> float | None:
        """Seconds before the window expires; None if there is none (not part of the port)."""
        async with self._client.guard("window.ttl", any_redis_error=True):
            left = int(await self._client.redis.pttl(self.key(conversation_id)))
        return left / 1000 if left >= 0 else None


def _ttl_ms(ttl_seconds: int) -> int:
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    return int(ttl_seconds * 1000)
