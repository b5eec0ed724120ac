"""Login and authenticated `GET /users/me` throughput vs the same kind of FastAPI app
without auth, in process over ASGI (no network).

`GET /users/me` is measured on each store an authenticated request reads: the in-memory
fakes, SQLite (the embedded profile, a migrated temp file) and PostgreSQL (when
`MAI_BENCH_PG_URL`'s server answers), with an access token and with a personal API key.
The database rows are the ones the per-request reads show in (issue #15). Each is timed
twice: wall time, and CPU time (user + system of the whole process, the database driver's
thread included) per request, the figure a loaded machine distorts least: on a busy machine a
thread hand-off waits for a core, which wall time counts and CPU time does not.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from adapters.sql.migrate import upgrade
from bench.harness import Row, Timing, compare
from entrypoints.rest.app import create_app
from tests.conftest import make_container, make_settings

PG_URL = os.environ.get(
    "MAI_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_bench"
)
PASSWORD = "password123"
PROFILE = {
    "id": "00000000-0000-0000-0000-000000000000",
    "username": "bench",
    "email": "bench@example.com",
}


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    async def me() -> dict[str, str]:
        return PROFILE

    @app.post("/login")
    async def login() -> dict[str, str]:
        return {"access_token": "x", "refresh_token": "y"}

    return app


async def cpu_per_call(fn: Callable[[], Awaitable[object]], *, batches: int) -> list[float]:
    """CPU seconds per call of `fn`, one sample per batch of 20 calls."""
    samples = []
    gc.collect()
    for _ in range(batches):
        started = time.process_time()
        for _ in range(20):
            await fn()
        samples.append((time.process_time() - started) / 20)
    return samples


async def compare_cpu(
    subject: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    *,
    batches: int,
    rounds: int = 3,
) -> tuple[Timing, Timing]:
    """`harness.compare` in CPU time: rounds interleaved, so drift hits both alike."""
    subject_samples: list[float] = []
    baseline_samples: list[float] = []
    for _ in range(rounds):
        baseline_samples += await cpu_per_call(baseline, batches=batches // rounds)
        subject_samples += await cpu_per_call(subject, batches=batches // rounds)
    return Timing(subject_samples), Timing(baseline_samples)


@asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The MAI app on `settings` and the bare app, each behind an in-process client."""
    app = create_app(make_container(make_settings(**settings)), configure_logs=False)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://bench"
        ) as http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bare_app()), base_url="http://bare"
        ) as bare,
    ):
        yield http, bare


async def sign_up(http: httpx.AsyncClient) -> dict[str, str]:
    """A fresh user (unique, so a shared database may hold earlier runs'); its credentials."""
    creds = {"username": f"bench{uuid4().hex[:10]}", "password": PASSWORD}
    r = await http.post(
        "/api/v1/auth/register", json={**creds, "email": f"{creds['username']}@example.com"}
    )
    assert r.status_code == 201, r.text
    return creds


async def login_rows() -> list[Row]:
    rows = []
    for rounds, label in ((12, "bcrypt cost 12"), (4, "bcrypt cost 4")):
        async with serving(security={"bcrypt_rounds": rounds}) as (http, bare):
            creds = await sign_up(http)

            async def login(http: httpx.AsyncClient = http, creds: dict[str, str] = creds) -> None:
                r = await http.post("/api/v1/auth/login", json=creds)
                assert r.status_code == 200

            async def bare_login(bare: httpx.AsyncClient = bare) -> None:
                await bare.post("/login", json={"username": "bench", "password": PASSWORD})

            subject, baseline = await compare(login, bare_login, n=30 if rounds == 12 else 300)
            rows.append(
                Row(
                    f"POST /auth/login ({label})",
                    subject,
                    baseline,
                    "bare FastAPI POST",
                    "hashing dominates",
                )
            )
    return rows


async def me_rows(store: str, n: int, **settings: Any) -> list[Row]:
    """`GET /users/me` with an access token and with an API key, on one store."""
    rows = []
    async with serving(**settings) as (http, bare):
        creds = await sign_up(http)
        token = (await http.post("/api/v1/auth/login", json=creds)).json()["access_token"]
        session = {"Authorization": f"Bearer {token}"}
        r = await http.post("/api/v1/api-keys", json={"name": "bench"}, headers=session)
        key = {"Authorization": f"Bearer {r.json()['key']}"}

        async def bare_me(bare: httpx.AsyncClient = bare) -> None:
            await bare.get("/me")

        for credential, headers in (("access token", session), ("API key", key)):

            async def me(http: httpx.AsyncClient = http, headers: dict[str, str] = headers) -> None:
                r = await http.get("/api/v1/users/me", headers=headers)
                assert r.status_code == 200

            subject, baseline = await compare(me, bare_me, n=n)
            rows.append(
                Row(
                    f"GET /users/me, {credential}, {store}",
                    subject,
                    baseline,
                    "bare FastAPI GET, no auth",
                    "no bcrypt on this path",
                )
            )
            subject, baseline = await compare_cpu(me, bare_me, batches=n // 20)
            rows.append(
                Row(
                    f"GET /users/me, {credential}, {store}: CPU per request",
                    subject,
                    baseline,
                    "bare FastAPI GET, no auth",
                    "process CPU (user + system, all threads)",
                )
            )
    return rows


async def postgres_ready() -> bool:
    try:
        await upgrade(PG_URL)
    except Exception:  # no server here: the PostgreSQL rows are left out
        return False
    return True


async def run() -> list[Row]:
    rows = await login_rows()
    rows += await me_rows("in-memory fakes", 1500)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        rows += await me_rows("SQLite", 900, data_dir=tmp, database={"url": url})
    if await postgres_ready():
        rows += await me_rows("PostgreSQL", 900, database={"url": PG_URL})
    return rows
