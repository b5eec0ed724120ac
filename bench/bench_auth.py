"""Login and authenticated `GET /users/me` throughput vs the same kind of FastAPI app
without auth, in process over ASGI (no network)."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from bench.harness import Row, compare
from entrypoints.rest.app import create_app
from tests.conftest import make_container, make_settings

CREDS = {"username": "bench", "password": "password123"}
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


async def run() -> list[Row]:
    rows = []
    for rounds, label in ((12, "bcrypt cost 12"), (4, "bcrypt cost 4")):
        container = make_container(make_settings(security={"bcrypt_rounds": rounds}))
        app = create_app(container, configure_logs=False)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://bench"
            ) as http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bare_app()), base_url="http://bare"
            ) as bare,
        ):
            await http.post("/api/v1/auth/register", json={**CREDS, "email": "bench@example.com"})

            async def login(http: httpx.AsyncClient = http) -> None:
                r = await http.post("/api/v1/auth/login", json=CREDS)
                assert r.status_code == 200

            async def bare_login(bare: httpx.AsyncClient = bare) -> None:
                await bare.post("/login", json=CREDS)

            n = 30 if rounds == 12 else 300
            subject, baseline = await compare(login, bare_login, n=n)
            rows.append(
                Row(
                    f"POST /auth/login ({label})",
                    subject,
                    baseline,
                    "bare FastAPI POST",
                    "hashing dominates",
                )
            )
            if rounds != 4:
                continue
            token = (await http.post("/api/v1/auth/login", json=CREDS)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            async def me(http: httpx.AsyncClient = http, headers: dict[str, str] = headers) -> None:
                r = await http.get("/api/v1/users/me", headers=headers)
                assert r.status_code == 200

            async def bare_me(bare: httpx.AsyncClient = bare) -> None:
                await bare.get("/me")

            subject, baseline = await compare(me, bare_me, n=1500)
            rows.append(
                Row(
                    "GET /users/me (JWT verify + session + user)",
                    subject,
                    baseline,
                    "bare FastAPI GET, no auth",
                    "no bcrypt on this path",
                )
            )
    return rows
