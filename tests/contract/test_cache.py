"""Contract of `Cache`, on the in-process cache and on real Redis.

Time: the in-process cache runs on a fake clock (`wait` moves it), Redis on the real one
(`wait` sleeps), so TTL tests are instant in process and honest on Redis. The Redis case
is marked `integration` (`MAI_TEST_REDIS_URL`, default DB 15); each test gets its own
random key namespace, deleted afterwards, so nothing else in the database is touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from adapters.inprocess.cache import InProcessCache
from adapters.redis.cache import RedisCache
from adapters.redis.client import RedisClient
from domain.errors import CacheUnavailable
from domain.ports import Cache
from tests.fakes.clock import FakeClock

from .conftest import DOWN_URL, FAST


@dataclass
class Harness:
    cache: Cache
    wait: Callable[[float], Awaitable[None]]


@pytest.fixture
def redis_harness(namespaced_redis: RedisClient) -> Harness:
    return Harness(RedisCache(namespaced_redis, scan_count=10), asyncio.sleep)


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.integration)])
def harness(request: pytest.FixtureRequest) -> Harness:
    """Only the backend under test is set up (no Redis needed for the in-process run)."""
    if request.param == "redis":
        redis: Harness = request.getfixturevalue("redis_harness")
        return redis
    clock = FakeClock()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return Harness(InProcessCache(clock=clock), advance)


async def test_a_miss_is_none(harness: Harness) -> None:
    assert await harness.cache.get("nothing-here") is None


async def test_set_then_get(harness: Harness) -> None:
    text = '{"city": "Lisboa", "note": "天気 🎉"}\nline two'
    await harness.cache.set("user:1:profile", text)

    assert await harness.cache.get("user:1:profile") == text
    assert await harness.cache.get("user:1") is None


async def test_set_overwrites_value_and_ttl(harness: Harness) -> None:
    await harness.cache.set("k", "old", ttl=0.2)
    await harness.cache.set("k", "new")

    await harness.wait(0.3)

    assert await harness.cache.get("k") == "new"


async def test_an_entry_expires_after_its_ttl(harness: Harness) -> None:
    await harness.cache.set("short", "v", ttl=0.2)
    await harness.cache.set("long", "v", ttl=60)
    await harness.cache.set("forever", "v")
    assert await harness.cache.get("short") == "v"

    await harness.wait(0.3)

    assert await harness.cache.get("short") is None
    assert await harness.cache.get("long") == "v"
    assert await harness.cache.get("forever") == "v"


async def test_delete(harness: Harness) -> None:
    await harness.cache.set("a", "1")
    await harness.cache.set("b", "2")

    await harness.cache.delete("a")
    await harness.cache.delete("never-set")  # a miss is fine

    assert await harness.cache.get("a") is None
    assert await harness.cache.get("b") == "2"


async def test_delete_prefix_removes_only_matching_keys(harness: Harness) -> None:
    for i in range(25):  # more than one SCAN page on Redis (scan_count=10)
        await harness.cache.set(f"user:1:item:{i}", str(i))
    await harness.cache.set("user:10:item:0", "other user")
    await harness.cache.set("user:2:item:0", "other user")
    await harness.cache.set("xuser:1:item:0", "prefix elsewhere")

    removed = await harness.cache.delete_prefix("user:1:")

    assert removed == 25
    assert await harness.cache.get("user:1:item:0") is None
    assert await harness.cache.get("user:1:item:24") is None
    assert await harness.cache.get("user:10:item:0") == "other user"
    assert await harness.cache.get("user:2:item:0") == "other user"
    assert await harness.cache.get("xuser:1:item:0") == "prefix elsewhere"
    assert await harness.cache.delete_prefix("user:1:") == 0


@pytest.mark.parametrize("prefix", ["a*", "a?", "a[bc]", "a\\", "a]"])
async def test_delete_prefix_takes_glob_characters_literally(harness: Harness, prefix: str) -> None:
    """Each prefix, read as a glob, would also match keys that do not start with it."""
    keys = {prefix + "1", prefix + "2", "ab1", "ac1", "axy", "a", "a*x", "a\\b", "b*1"}
    for key in keys:
        await harness.cache.set(key, "v")
    doomed = {key for key in keys if key.startswith(prefix)}

    assert await harness.cache.delete_prefix(prefix) == len(doomed)

    for key in keys:
        assert (await harness.cache.get(key) is None) == (key in doomed), key


async def test_delete_prefix_does_not_count_expired_entries(harness: Harness) -> None:
    await harness.cache.set("p:gone", "v", ttl=0.2)
    await harness.cache.set("p:kept", "v")
    await harness.wait(0.3)

    assert await harness.cache.delete_prefix("p:") == 1


async def test_an_empty_prefix_drops_every_cache_key(harness: Harness) -> None:
    await harness.cache.set("a", "1")
    await harness.cache.set("b:c", "2")

    assert await harness.cache.delete_prefix("") == 2

    assert await harness.cache.get("a") is None


async def test_invalid_arguments(harness: Harness) -> None:
    with pytest.raises(ValueError):
        await harness.cache.set("k", "v", ttl=0)
    with pytest.raises(ValueError):
        await harness.cache.set("k", "v", ttl=-1)
    with pytest.raises(ValueError):
        await harness.cache.get("")
    assert await harness.cache.get("k") is None


# --- Redis only: an outage ---------------------------------------------------------------


async def test_redis_down_is_cache_unavailable() -> None:
    async with RedisClient.from_url(DOWN_URL, FAST) as client:
        cache = RedisCache(client)
        with pytest.raises(CacheUnavailable):
            await cache.get("k")
        with pytest.raises(CacheUnavailable):
            await cache.set("k", "v", ttl=1)
        with pytest.raises(CacheUnavailable):
            await cache.delete("k")
        with pytest.raises(CacheUnavailable):
            await cache.delete_prefix("k")


# --- in-process only: bounded size -------------------------------------------------------


async def test_in_process_cache_evicts_the_least_recently_used() -> None:
    cache = InProcessCache(max_entries=3, clock=FakeClock())
    for key in ("a", "b", "c"):
        await cache.set(key, key)
    await cache.get("a")  # now the most recently used

    await cache.set("d", "d")

    assert len(cache) == 3
    assert cache.keys() == ["c", "a", "d"]
    assert await cache.get("b") is None


async def test_in_process_cache_drops_expired_entries_when_writing() -> None:
    clock = FakeClock()
    cache = InProcessCache(max_entries=2, clock=clock)
    await cache.set("old", "v", ttl=1)
    await cache.set("kept", "v")
    clock.advance(5)

    await cache.set("new", "v")

    assert cache.keys() == ["kept", "new"]
