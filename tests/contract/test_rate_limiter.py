"""Contract of `RateLimiter`, on the in-process limiter and on real Redis.

Time: the in-process limiter runs on a fake clock (`wait` moves it), Redis on the real
one (`wait` sleeps). The Redis case is marked `integration` (`MAI_TEST_REDIS_URL`,
default DB 15); each test gets its own random key namespace, deleted afterwards.
Counting across processes is tested in tests/integration/test_rate_limit_processes.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from adapters.inprocess.rate_limiter import InProcessRateLimiter
from adapters.redis.client import RedisClient
from adapters.redis.rate_limiter import RedisRateLimiter
from domain.errors import CacheUnavailable
from domain.ports import RateLimiter
from tests.fakes.clock import FakeClock

from .conftest import DOWN_URL, FAST


@dataclass
class Harness:
    limiter: RateLimiter
    wait: Callable[[float], Awaitable[None]]


@pytest.fixture
def redis_harness(namespaced_redis: RedisClient) -> Harness:
    return Harness(RedisRateLimiter(namespaced_redis), asyncio.sleep)


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.integration)])
def harness(request: pytest.FixtureRequest) -> Harness:
    """Only the backend under test is set up (no Redis needed for the in-process run)."""
    if request.param == "redis":
        redis: Harness = request.getfixturevalue("redis_harness")
        return redis
    clock = FakeClock()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return Harness(InProcessRateLimiter(clock=clock), advance)


async def test_the_first_limit_calls_are_allowed_then_refused(harness: Harness) -> None:
    decisions = [await harness.limiter.hit("user:1", limit=3, period=30) for _ in range(3)]

    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.retry_after == 0 for d in decisions)

    refused = await harness.limiter.hit("user:1", limit=3, period=30)
    assert refused.allowed is False
    assert refused.remaining == 0
    assert 0 < refused.retry_after <= 30
    again = await harness.limiter.hit("user:1", limit=3, period=30)
    assert again.allowed is False and 0 < again.retry_after <= refused.retry_after


async def test_a_new_window_allows_again(harness: Harness) -> None:
    for _ in range(2):
        await harness.limiter.hit("k", limit=2, period=0.3)
    refused = await harness.limiter.hit("k", limit=2, period=0.3)
    assert not refused.allowed and 0 < refused.retry_after <= 0.3

    await harness.wait(0.4)

    decision = await harness.limiter.hit("k", limit=2, period=0.3)
    assert decision.allowed and decision.remaining == 1 and decision.retry_after == 0


async def test_the_window_is_fixed_not_sliding(harness: Harness) -> None:
    """Hits during a window do not extend it: it ends `period` after its first hit."""
    await harness.limiter.hit("k", limit=1, period=1)
    await harness.wait(0.6)
    refused = await harness.limiter.hit("k", limit=1, period=1)
    assert not refused.allowed and 0 < refused.retry_after <= 0.4 + 0.01

    await harness.wait(0.5)  # 1.1 s after the first hit, 0.5 s after the refused one

    assert (await harness.limiter.hit("k", limit=1, period=1)).allowed


async def test_keys_are_independent(harness: Harness) -> None:
    assert (await harness.limiter.hit("a", limit=1, period=30)).allowed
    assert not (await harness.limiter.hit("a", limit=1, period=30)).allowed

    decision = await harness.limiter.hit("b", limit=1, period=30)
    assert decision.allowed and decision.remaining == 0
    assert (await harness.limiter.hit("a:b", limit=1, period=30)).allowed


async def test_concurrent_hits_are_counted_exactly(harness: Harness) -> None:
    decisions = await asyncio.gather(
        *(harness.limiter.hit("burst", limit=7, period=30) for _ in range(50))
    )

    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 7
    assert sorted(d.remaining for d in allowed) == [0, 1, 2, 3, 4, 5, 6]
    assert all(d.remaining == 0 and 0 < d.retry_after <= 30 for d in decisions if not d.allowed)


async def test_a_zero_limit_refuses_everything(harness: Harness) -> None:
    decision = await harness.limiter.hit("blocked", limit=0, period=30)

    assert not decision.allowed and decision.remaining == 0 and 0 < decision.retry_after <= 30


async def test_invalid_arguments(harness: Harness) -> None:
    with pytest.raises(ValueError):
        await harness.limiter.hit("k", limit=-1, period=30)
    with pytest.raises(ValueError):
        await harness.limiter.hit("k", limit=1, period=0)
    with pytest.raises(ValueError):
        await harness.limiter.hit("", limit=1, period=30)
    assert (await harness.limiter.hit("k", limit=1, period=30)).allowed


# --- Redis only: an outage ---------------------------------------------------------------


async def test_redis_down_is_cache_unavailable() -> None:
    async with RedisClient.from_url(DOWN_URL, FAST) as client:
        with pytest.raises(CacheUnavailable):
            await RedisRateLimiter(client).hit("k", limit=1, period=30)


# --- in-process only: memory follows the active keys --------------------------------------


async def test_in_process_limiter_sweeps_expired_windows() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    for i in range(2000):
        await limiter.hit(f"old:{i}", limit=1, period=1)
    clock.advance(5)

    for i in range(1100):
        await limiter.hit(f"new:{i}", limit=1, period=1)

    assert len(limiter.windows) < 2000
    assert all(key.startswith("new:") for key in limiter.windows)
