"""One OS process of the cross-process rate limit test (run by test_rate_limit_processes).

    python -m tests.integration.rate_limit_worker URL NAMESPACE KEY GO_KEY HITS LIMIT PERIOD

Opens its own connection pool and warms it, prints `ready`, waits until `GO_KEY` exists
(the shared start signal), fires `HITS` concurrent `RedisRateLimiter.hit` calls on `KEY`
and prints how many were allowed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from adapters.redis.client import RedisClient, RedisOptions
from adapters.redis.rate_limiter import RedisRateLimiter

START_TIMEOUT = 30.0  # seconds to wait for the start signal


async def main(
    url: str, namespace: str, key: str, go_key: str, hits: int, limit: int, period: float
) -> int:
    options = RedisOptions(max_connections=hits)
    async with RedisClient.from_url(url, options, namespace=namespace) as client:
        limiter = RedisRateLimiter(client)
        # Open the connections now, so the burst is not spread out by connecting.
        await asyncio.gather(*(client.redis.ping() for _ in range(hits)))
        print("ready", flush=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not await client.redis.exists(go_key):
            if time.monotonic() > deadline:
                raise SystemExit("no start signal")
            await asyncio.sleep(0.002)
        decisions = await asyncio.gather(*(limiter.hit(key, limit, period) for _ in range(hits)))
    return sum(d.allowed for d in decisions)


if __name__ == "__main__":
    url, namespace, key, go_key, hits, limit, period = sys.argv[1:8]
    allowed = asyncio.run(main(url, namespace, key, go_key, int(hits), int(limit), float(period)))
    print(f"allowed {allowed}", flush=True)
