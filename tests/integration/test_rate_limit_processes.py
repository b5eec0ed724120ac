"""`RedisRateLimiter` counts exactly across OS processes.

Two separate Python processes (tests/integration/rate_limit_worker.py) each fire 40
concurrent hits on one key with limit 13, released together by a start key in Redis;
together they must be allowed exactly 13. Keys live under a random namespace and are
deleted afterwards.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from adapters.redis.client import RedisClient
from adapters.redis.keys import KeyKind
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 2
HITS_PER_PROCESS = 40
LIMIT = 13
PERIOD = 30.0
TIMEOUT = 60.0  # seconds for a worker to get ready, and then to finish


@pytest.fixture
async def namespaced() -> AsyncIterator[RedisClient]:
    namespace = f"test-{uuid4().hex[:12]}"
    async with RedisClient.from_url(REDIS_URL, namespace=namespace) as client:
        yield client
        keys = [k async for k in client.redis.scan_iter(match=f"{namespace}:*", count=1000)]
        if keys:
            await client.redis.delete(*keys)


async def start_worker(client: RedisClient, go_key: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.rate_limit_worker",
        REDIS_URL,
        client.namespace,
        "shared",
        go_key,
        str(HITS_PER_PROCESS),
        str(LIMIT),
        str(PERIOD),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode().strip()


async def test_two_processes_share_one_limit(namespaced: RedisClient) -> None:
    go_key = namespaced.key(KeyKind.CACHE, "go")
    workers = [await start_worker(namespaced, go_key) for _ in range(PROCESSES)]
    try:
        for worker in workers:
            if await read_line(worker) != "ready":
                assert worker.stderr is not None
                pytest.fail(f"a worker did not start:\n{(await worker.stderr.read()).decode()}")
        await namespaced.set(go_key, "1", ttl=60)  # both start together

        allowed = []
        for worker in workers:
            out, err = await asyncio.wait_for(worker.communicate(), TIMEOUT)
            assert worker.returncode == 0, err.decode()
            allowed.append(int(out.decode().split()[-1]))
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()

    assert sum(allowed) == LIMIT, allowed
    counter = await namespaced.get(namespaced.key(KeyKind.RATELIMIT, "shared"))
    assert counter == str(PROCESSES * HITS_PER_PROCESS)
