"""Two real API processes share tool limits and switches through Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def login(server: Server, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{server.base_url}/api/v1/auth/login",
        json={"username": username, "password": "password123"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_rate_limit_holds_across_two_server_processes(two_servers: tuple[Server, Server]) -> None:
    a, b = two_servers
    a.mai("users", "create", "ada", "--email", "ada@example.com", "--password", "password123")
    headers = login(a, "ada")
    base = random.randrange(10_000, 10_000_000)  # fresh arguments: no cache hits from other runs

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as http:
            calls = [
                http.post(
                    f"{(a, b)[i % 2].base_url}/api/v1/tools/slow_square/invoke",
                    json={"args": {"n": base + i}},
                    headers=headers,
                )
                for i in range(20)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(burst())
    # slow_square allows 3 calls per user per minute, counted in Redis by both processes.
    assert statuses.count(200) == 3, statuses
    assert statuses.count(429) == 17, statuses


def test_a_tool_switched_off_on_one_process_is_off_on_the_other(
    two_servers: tuple[Server, Server],
) -> None:
    a, b = two_servers
    a.mai(
        "users",
        "create",
        "root",
        "--email",
        "r@example.com",
        "--password",
        "password123",
        "--superuser",
    )
    a.mai("users", "create", "ada", "--email", "ada@example.com", "--password", "password123")
    root, ada = login(a, "root"), login(b, "ada")
    calc = {"args": {"expression": "6*7"}}
    r = httpx.post(f"{b.base_url}/api/v1/tools/calculator/invoke", json=calc, headers=ada)
    assert r.status_code == 200 and r.json()["result"] == 42
    r = httpx.patch(f"{a.base_url}/api/v1/tools/calculator", json={"enabled": False}, headers=root)
    assert r.status_code == 200
    listed = httpx.get(f"{b.base_url}/api/v1/tools/calculator", headers=ada).json()
    assert listed["enabled"] is False  # the listing reads the database
    time.sleep(0.6)  # TOOLS__STATE_TTL: how stale a process's copy of the switches may be
    r = httpx.post(f"{b.base_url}/api/v1/tools/calculator/invoke", json=calc, headers=ada)
    assert r.status_code == 403 and r.json()["error"]["code"] == "TOOL_DISABLED"
    b.mai("tools", "enable", "calculator")
    time.sleep(0.6)
    r = httpx.post(f"{a.base_url}/api/v1/tools/calculator/invoke", json=calc, headers=ada)
    assert r.status_code == 200
