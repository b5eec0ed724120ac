"""`RateLimiter` on Redis: one counter per key and window, under `MAI:ratelimit:…`.

A fixed window starts at a key's first hit and lasts `period` seconds. One Lua script
(EVALSHA, one round trip) increments the counter, starts the window when the counter is
new and reads the time left, so concurrent hits from any number of processes are
counted exactly once each and can never leave a counter without an expiry (which a
crash between a separate INCR and PEXPIRE could). Redis outages surface as
`CacheUnavailable`; the caller decides whether to fail open or closed.
"""

from __future__ import annotations

from adapters.redis.client import RedisClient
from adapters.redis.keys import KeyKind
from domain.ports import RateDecision

# KEYS[1] the counter; ARGV[1] the period in ms. Returns {count, ms left in the window}.
# A counter without an expiry is new (INCR created it) or was written by hand: either
# way this hit starts its window.
HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""


class RedisRateLimiter:
    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._hit = client.redis.register_script(HIT_SCRIPT)

    def key(self, key: str) -> str:
        """The Redis key of a limiter key."""
        return self._client.key(KeyKind.RATELIMIT, key)

    async def hit(self, key: str, limit: int, period: float) -> RateDecision:
        _check(limit, period)
        redis_key = self.key(key)
        period_ms = max(1, round(period * 1000))
        async with self._client.guard("ratelimit.hit"):
            count, left_ms = await self._hit(keys=[redis_key], args=[period_ms])
        count = int(count)
        if count <= limit:
            return RateDecision(allowed=True, remaining=limit - count, retry_after=0.0)
        return RateDecision(allowed=False, remaining=0, retry_after=int(left_ms) / 1000)


def _check(limit: int, period: float) -> None:
    if limit < 0:
        raise ValueError("limit cannot be negative")
    if period <= 0:
        raise ValueError("period must be positive")
